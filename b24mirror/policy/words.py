"""Words in the tool's own English output (summaries, findings, errors): numbers with the right form."""
from __future__ import annotations

import re


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 group', '2 groups', '1 history row', '3 subtask chats': the number and the word in its form."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


LISTED = 5  # task ids named in a grouped line before "(+N more)"
_PER_TASK = re.compile(r"^task (\d+): (.*)$", re.S)


def task_list(ids: list[int], listed: int = LISTED) -> str:
    """'103, 106, 107, 110, 111, … (+2 more)': a few ids, then how many are left unnamed."""
    shown = ", ".join(str(i) for i in ids[:listed])
    more = len(ids) - listed
    return f"{shown}, … (+{more} more)" if more > 0 else shown


def grouped(lines: list[str]) -> list[str]:
    """One line per kind of "task N: …" warning, naming the tasks it is about, in first-seen order.

    "task 103: user 1 is not a participant of its chat; add user 1 as an observer of task 103, …" twelve
    times reads once: "tasks 103, 106, … (+7 more): user 1 is not a participant of its chat; add user 1 as an
    observer of these tasks, …". A line about one task, or of no task, is left as it is."""
    ids_of: dict[str, list[int]] = {}
    first_line: dict[str, str] = {}
    order: list[tuple[str, str]] = []  # ("as is", line) or ("kind", the line with its task taken out)
    for line in lines:
        match = _PER_TASK.match(line)
        if not match:
            order.append(("as is", line))
            continue
        task_id = int(match.group(1))
        text = re.sub(rf"\btask {task_id}\b", "these tasks", match.group(2))
        if text not in ids_of:
            ids_of[text], first_line[text] = [], line
            order.append(("kind", text))
        ids_of[text].append(task_id)
    lines_out = []
    for how, text in order:
        ids = ids_of.get(text, []) if how == "kind" else []
        if how == "as is":
            lines_out.append(text)
        elif len(ids) == 1:
            lines_out.append(first_line[text])
        else:
            lines_out.append(f"tasks {task_list(ids)}: {text}")
    return lines_out
