"""The rules on everything else a reader of the master sees: task titles, file names, event values.

Comment text is judged in rules.comment_verdict; this module judges the rest the same way, so that a
`hide` rule covering a subtask's title keeps the subtask out everywhere its title would show, and a
`redact` rule replaces its matches in titles and file names wherever they would show (the header of
every mirror, announcements, checklist items, digests, title-change events). Pure: no I/O.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Mapping

from b24mirror.config.settings import Rules
from .models import Attachment, Comment, Task
from .render import reader_text, redact
from .render.language import labels_for


def hides(text: str | None, rules: Rules) -> bool:
    """Whether a `hide` rule matches the text as a reader sees it, or as it was written (a rule written
    against the source keeps working)."""
    raw = text or ""
    judged = (reader_text(raw), reader_text(raw, quote_prefix=""), raw)
    return any(re.search(pattern, value) for pattern in rules.hide_patterns for value in judged)


def title_hidden(task: Task | None, rules: Rules) -> bool:
    return task is not None and hides(task.title, rules)


MAX_BRANCH = 8  # parent links followed, as far as plan.subtree_verdict walks


def branch_hidden(task: Task | None, tasks: Mapping[int, Task] | None, rules: Rules, master_id: int) -> bool:
    """Whether a `hide` rule covers the task's title or that of an ancestor below the master: a subtask kept
    out by its title keeps its whole branch out (a subtask under it would name what it belongs to, and is
    the hidden subject's own work). `tasks` None: only the task's own title is known."""
    current, steps = task, 0
    while current is not None and current.id != master_id and steps <= MAX_BRANCH:
        if title_hidden(current, rules):
            return True
        current = tasks.get(current.parent_id) if tasks is not None and current.parent_id else None
        steps += 1
    return False


def shown_title(title: str | None, rules: Rules, language: str = "ru") -> str:
    """The title (or file name) with every `redact` match replaced, as it may show in the master. Titles
    show as plain text, where "[redacted]" would read as a tag and vanish: the label reads "(redacted)"."""
    label = labels_for(language)["redacted"]
    plain_label = "(" + label.strip("[]") + ")"
    return redact(title or "", rules.redact_patterns, language=language).replace(label, plain_label)


def shown_task(task: Task, rules: Rules, language: str = "ru") -> Task:
    """The task as mirrors may name it: its title redacted."""
    title = shown_title(task.title, rules, language)
    return task if title == task.title else replace(task, title=title)


def shown_files(attachments: Iterable[Attachment], rules: Rules, language: str = "ru") -> tuple[Attachment, ...]:
    """The files a mirror may list: those a `hide` rule covers left out, the others' names redacted."""
    return tuple(replace(a, name=shown_title(a.name, rules, language))
                 for a in attachments if not hides(a.name, rules))


def shown_comment(comment: Comment, rules: Rules, language: str = "ru") -> Comment:
    files = shown_files(comment.attachments, rules, language)
    return comment if files == comment.attachments else replace(comment, attachments=files)


def only_hidden_files(comment: Comment, rules: Rules) -> bool:
    """A comment whose only content is files a `hide` rule covers: nothing of it may be mirrored."""
    return (bool(comment.attachments) and not reader_text(comment.text).strip()
            and not shown_files(comment.attachments, rules))
