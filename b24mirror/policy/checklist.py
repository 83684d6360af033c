"""The master's checklist: one item per first-level subtask ("#124 Site survey"). Pure: no I/O.

The state maps each subtask to its item and to what b24mirror last made of it (title, ticked).
Only a change of the *subtask* moves the item: a person unticking an item b24mirror ticked is left
alone until the subtask's status changes again, and items people made are never touched (ours are
known by the mapping, or after a lost state by their "#ID " prefix and our own user as creator).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from b24mirror.config.settings import Rules
from b24mirror.policy.models import Task
from b24mirror.policy.render.safety import plain
from b24mirror.policy.shown import shown_task, title_hidden

STATUS_COMPLETED = 5
ADD, COMPLETE, RENEW, RENAME, REMOVE = "added", "checked", "unchecked", "renamed", "removed"


@dataclass(frozen=True)
class ChecklistItem:
    id: int
    title: str
    created_by: int
    complete: bool
    parent_id: int = 0


@dataclass(frozen=True)
class Action:
    kind: str
    task_id: int
    item_id: int | None = None
    title: str = ""


def item_title(task: Task) -> str:
    return f"#{task.id} {plain(task.title)}".rstrip()


def is_first_level(task: Task, master: Task) -> bool:
    return task.id != master.id and task.parent_id == master.id and task.group_id == master.group_id


def shown_first_level(tasks: Mapping[int, Task], master: Task, rules: Rules, language: str) -> dict[int, Task]:
    """The first-level subtasks an item may show, as it may show them: a title a `hide` rule covers has
    no item, a `redact` match is replaced."""
    return {t.id: shown_task(t, rules, language) for t in tasks.values()
            if is_first_level(t, master) and not title_hidden(t, rules)}


def wanted(tasks: Mapping[int, Task], master: Task, mapped: Mapping[str, dict], *, full: bool,
           rules: Rules = Rules(), language: str = "ru") -> dict[int, Task | None]:
    """Subtask -> the task its item should show, or None where the item should go (it left the subtree,
    or a rule now hides its title).

    `tasks`: the tasks this run knows of; `full`: they are every task of the group, so a mapped
    subtask missing among them has left the group (or was deleted)."""
    found: dict[int, Task | None] = dict(shown_first_level(tasks, master, rules, language))
    for key in mapped:
        task = tasks.get(int(key))
        if (task is not None and (not is_first_level(task, master) or title_hidden(task, rules))) or (
                task is None and full):
            found[int(key)] = None
    return found


def needs_work(want: Mapping[int, Task | None], mapped: Mapping[str, dict]) -> bool:
    """Whether any item must change: decided from the state alone, so a quiet run reads nothing."""
    for task_id, task in want.items():
        record = mapped.get(str(task_id))
        if task is None:
            if record is not None:
                return True
        elif record is None or (record.get("item") and (
                record.get("title") != item_title(task) or record.get("done") != (task.status == STATUS_COMPLETED))):
            return True
    return False


def ours(items: list[ChecklistItem], task_id: int, me: int) -> ChecklistItem | None:
    """Our item of a subtask found in the checklist (after a lost state or a lost answer)."""
    prefix = f"#{task_id} "
    return next((i for i in items if i.created_by == me and (i.title + " ").startswith(prefix)), None)


def plan_actions(want: Mapping[int, Task | None], mapped: dict[str, dict], items: list[ChecklistItem],
                 me: int) -> list[Action]:
    """The writes that bring the checklist in line. Adopts our items found in the list into `mapped`."""
    by_id = {i.id: i for i in items}
    actions = []
    for task_id, task in sorted(want.items()):
        key = str(task_id)
        record = mapped.get(key)
        if task is None:
            if record is not None and record.get("item") in by_id:
                actions.append(Action(REMOVE, task_id, record["item"]))
            elif record is not None:
                mapped.pop(key)  # already gone
            continue
        if record is None:
            found = ours(items, task_id, me)
            if found is None:
                actions.append(Action(ADD, task_id, None, item_title(task)))
                continue
            record = mapped[key] = {"item": found.id, "title": found.title, "done": found.complete}
        if record.get("item") not in by_id:
            continue  # a person deleted our item: it stays deleted
        if record.get("title") != item_title(task):
            actions.append(Action(RENAME, task_id, record["item"], item_title(task)))
        done = task.status == STATUS_COMPLETED
        if record.get("done") != done:
            actions.append(Action(COMPLETE if done else RENEW, task_id, record["item"]))
    return actions


MISSING_ITEM, DUPLICATE_ITEM, STALE_ITEM = "checklist missing", "checklist duplicated", "checklist stale"


@dataclass(frozen=True)
class ChecklistProblem:
    kind: str  # MISSING_ITEM | DUPLICATE_ITEM | STALE_ITEM
    task_id: int
    detail: str
    item_ids: tuple[int, ...] = ()  # DUPLICATE_ITEM: the extra items (ours, beyond the first); STALE_ITEM: ours
    title: str = ""  # what the item should read (MISSING_ITEM, and STALE_ITEM when renamed); "" to remove


def audit_checklist(tasks: Mapping[int, Task], master: Task, items: list[ChecklistItem], me: int, *,
                    rules: Rules = Rules(), language: str = "ru") -> list[ChecklistProblem]:
    """What the master's checklist lacks or holds too much of, judged afresh (no state): one item of ours per
    first-level subtask, showing its title; none for a task that left. Ticks are not judged: a person may
    untick an item, and b24mirror leaves that alone. People's items are never judged at all."""
    mine: dict[int, list[ChecklistItem]] = {}
    for item in sorted(items, key=lambda i: i.id):
        head = (item.title.split(" ", 1)[0] if item.title else "")
        if item.created_by == me and head.startswith("#") and head[1:].isdigit():
            mine.setdefault(int(head[1:]), []).append(item)
    problems = []
    first = shown_first_level(tasks, master, rules, language)
    for task_id, task in sorted(first.items()):
        found = mine.get(task_id, [])
        if not found:
            problems.append(ChecklistProblem(MISSING_ITEM, task_id, f"no item for subtask #{task_id}",
                                             title=item_title(task)))
            continue
        if len(found) > 1:
            problems.append(ChecklistProblem(DUPLICATE_ITEM, task_id, f"{len(found)} items for subtask #{task_id}",
                                             tuple(i.id for i in found[1:])))
        if found[0].title != item_title(task):
            problems.append(ChecklistProblem(STALE_ITEM, task_id, f"item {found[0].id} reads {found[0].title!r}, "
                                             f"the subtask {item_title(task)!r}", (found[0].id,), item_title(task)))
    for task_id, found in sorted(mine.items()):
        if task_id not in first:
            problems.append(ChecklistProblem(STALE_ITEM, task_id, f"subtask #{task_id} is no longer a first-level "
                                             "subtask of the master", tuple(i.id for i in found)))
    return problems
