"""When each task entered the master's subtree, and whether a mirror's source left the project after it
was mirrored. Pure: the sync (sync/decide.py) and `audit` hand in what they read.

A task's items count from its latest entry into the subtree; a task carried in by an ancestor entered
when the ancestor did. A mirror posted while its source was eligible stays legitimate when the source
later leaves the project (its author leaves the group or is deactivated, its task moves out): that is
information, not a leak.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping

from b24mirror.policy import rules
from b24mirror.policy.markers import talk_marker
from b24mirror.policy.models import KIND_EVENT, KIND_SUBTASK, TALK_KINDS, Marker, Task, parse_date
from b24mirror.policy.plan import (MAX_WALK, MOVE_FIELDS, REASON_BEFORE_ENTRY, REASON_OTHER_GROUP, REASON_OUTSIDE,
                                   REASON_TOO_DEEP, GroupSnapshot, as_id, subtree_verdict)

# Verdicts that say where a source is now, not what it says: a mirror posted before they held stays.
LEFT_SINCE = frozenset({rules.REASON_NOT_MEMBER, REASON_OUTSIDE, REASON_OTHER_GROUP, REASON_TOO_DEEP})


def left_since(marker: Marker, decision: str | None, snap: GroupSnapshot) -> bool:
    """Whether a present mirror's source is out now only because of where it is since: its author or task left
    (LEFT_SINCE), or its task (or an ancestor, carrying it) left and came back after the item was written inside
    (its items count from the latest entry, but the mirror was posted during the earlier stay, while eligible)."""
    if decision in LEFT_SINCE:
        return True
    return decision == REASON_BEFORE_ENTRY and _written_inside(marker, snap)


def _written_inside(marker: Marker, snap: GroupSnapshot) -> bool:
    task = snap.tasks.get(marker.source_id if marker.kind == KIND_SUBTASK else marker.task_id)
    if task is None:
        return False
    if marker.kind in TALK_KINDS:
        date = next((c.date for c in snap.comments.get(task.id, []) if talk_marker(task.id, c) == marker), None)
    elif marker.kind == KIND_EVENT:
        date = next((e.date for e in snap.history.get(task.id, []) if e.id == marker.source_id), None)
    else:
        date = task.created_date
    if not date:
        return False
    # Where the task hung when the item was written, and where each of its ancestors then hung: an ancestor's
    # stay away took the task out with it (the history the run has of them; an ancestor whose history was not
    # read is taken as it hangs now).
    when, then = parse_date(date), dict(snap.tasks)
    current, hops = task, 0
    while current is not None and current.id != snap.master.id and hops <= MAX_WALK:
        then[current.id] = _hung_at(current, snap.history.get(current.id, []), when)
        parent_id = then[current.id].parent_id
        current, hops = (snap.tasks.get(parent_id) if parent_id else None), hops + 1
    return subtree_verdict(then[task.id], snap.master, then, snap.group.depth) is None


def _hung_at(task: Task, history, when) -> Task:
    """The task with its own move rows after `when` undone, newest first: its parent and group at that moment."""
    rows = sorted((e for e in history if (e.field or "").upper() in MOVE_FIELDS and parse_date(e.date) > when),
                  key=lambda e: (parse_date(e.date), e.id), reverse=True)
    for row in rows:
        task = replace(task, **{"parent_id" if row.field.upper() == "PARENT_ID" else "group_id": as_id(row.before)})
    return task


def latest(*dates: str | None) -> str | None:
    present = [d for d in dates if d]
    return max(present, key=parse_date) if present else None


def entry_dates(tasks: Mapping[int, Task], candidates, master: Task, depth: int,
                own_entry: Callable[[Task], str | None]) -> dict[int, str]:
    """Task id -> when it entered the subtree, for the candidates inside it now that entered it: the later
    of its own entry (`own_entry`, from its history or a record) and its ancestors' within the subtree."""
    known: dict[int, str | None] = {}

    def entry(task_id: int, hops: int = 0) -> str | None:
        task = tasks.get(task_id)
        if task is None or task_id == master.id or hops > MAX_WALK:
            return None
        if task_id not in known:
            known[task_id] = latest(own_entry(task), entry(task.parent_id, hops + 1) if task.parent_id else None)
        return known[task_id]

    found = {}
    for task in candidates:
        if task.id != master.id and subtree_verdict(task, master, tasks, depth) is None:
            date = entry(task.id)
            if date:
                found[task.id] = date
    return found
