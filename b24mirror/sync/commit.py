"""Phase 6, commit: snapshots of the tasks read, the baseline, and the cursor.

A task is snapshotted only when everything about it was read and settled: a task whose read
failed, was cut short, or has mirrors held back stays changed, and the next run reads it
again. The cursor is the portal's own clock at the listing, never ours, and never moves back.
"""
from __future__ import annotations

from b24mirror.models import EPOCH, Task, parse_date
from b24mirror.plan import subtree_verdict
from b24mirror.sync.common import local_now
from b24mirror.sync.listings import latest_date
from b24mirror.sync.records import GroupRun


def snapshot_of(task: Task, inside: bool, previous: dict | None) -> dict:
    previous = previous or {}
    return {
        "parent": task.parent_id, "group": task.group_id, "activity": task.activity_date,
        "changed": task.changed_date, "comments": task.comments_count, "chat": task.chat_id,
        "inside": inside,
        "last_comment_id": previous.get("last_comment_id", 0),
        "last_message_id": previous.get("last_message_id", 0),
    }


def settled(run: GroupRun, task_id: int) -> bool:
    """Whether a task's snapshot may move: it was not changed, or all about it was read and posted."""
    if task_id not in run.listing.dirty:
        return True
    details = run.details
    return (task_id in details.read_ok and task_id not in details.incomplete
            and task_id not in run.decision.held_tasks)


def commit(run: GroupRun) -> None:
    if not run.report.ok:
        run.state.mark_error(local_now(), run.report.error or "")
        return
    everything = run.all_tasks()
    details = run.details
    for task_id, task in run.listing.tasks.items():
        if task_id == run.config.master_task or not settled(run, task_id):
            continue
        key = str(task_id)
        inside = run.master is not None and subtree_verdict(task, run.master, everything, run.config.depth) is None
        snap = snapshot_of(task, inside, run.state.tasks.get(key))
        world = run.listing.worlds.get(task_id) or (run.state.tasks.get(key) or {}).get("world")
        if world:
            snap["world"] = world
        if task_id in details.comment_cursor:
            snap["last_comment_id"] = details.comment_cursor[task_id]
        if task_id in details.chat_cursor:
            snap["last_message_id"] = details.chat_cursor[task_id]
        run.state.tasks[key] = snap
    if run.report.first_sync:
        baseline = run.listing.baseline
        run.state.baseline = (baseline or EPOCH).isoformat()
    cursor = run.listing.now or latest_date(run.listing.tasks.values()) or run.state.cursor
    if run.state.cursor and cursor and parse_date(cursor) < parse_date(run.state.cursor):
        cursor = run.state.cursor
    run.state.runs += 1
    run.state.mark_success(local_now(), cursor)
