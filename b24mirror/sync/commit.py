"""Phase 6, commit: snapshots of the tasks read, the baseline, and the cursor.

Progress is kept as it is made. A task read whole and posted gets a new snapshot. A task only
partly done (a long chat cut short, mirrors held back by the cap, an item with an unreadable
date) keeps its old snapshot, so it stays changed, but its comment cursor moves up to the
last item settled, and it is put on the group's pending list: the next run reads it again from
there even if nothing lists it as changed. A task whose read failed keeps everything.
The cursor is the portal's own clock at the listing, never ours, and never moves back.
"""
from __future__ import annotations

from b24mirror.policy.models import ELIGIBLE, EPOCH, TALK_KINDS, Marker, Task, parse_date
from b24mirror.policy.plan import REASON_OUTSIDE, subtree_verdict
from b24mirror.sync.common import local_now
from b24mirror.sync.digest import HELD, held_items
from b24mirror.sync.decide import ADMITTED, entry_dates
from b24mirror.sync.listings import PENDING, latest_date
from b24mirror.sync.records import GroupRun



def snapshot_of(task: Task, inside: bool, previous: dict | None) -> dict:
    previous = previous or {}
    return {
        "parent": task.parent_id, "group": task.group_id, "activity": task.activity_date,
        "changed": task.changed_date, "comments": task.comments_count, "service": task.service_comments_count,
        "chat": task.chat_id,
        "inside": inside,
        "last_comment_id": previous.get("last_comment_id", 0),
        "last_message_id": previous.get("last_message_id", 0),
    }


def unposted(run: GroupRun) -> list:
    """Planned mirrors the ledger does not hold after this run: over the cap, cut off by the deadline, or
    refused this run (quarantined ones excepted: they wait for `repair`, not for every run; so are items held for
    the next digest: the state keeps them)."""
    plan = run.decision.plan
    if plan is None:
        return []
    held = run.state.meta.get(HELD) or {}  # held for the digest: recorded in the state, not waiting on the task
    return [m for m in plan.mirrors
            if not run.state.has(m.marker) and m not in run.decision.quarantined and str(m.marker) not in held]


def settled(run: GroupRun, task_id: int, waiting: set[int]) -> bool:
    """Whether a task's snapshot may move: it was not changed, or all about it was read and posted."""
    if task_id not in run.listing.dirty:
        return True
    details = run.details
    return task_id in details.read_ok and task_id not in details.incomplete and task_id not in waiting


def cursor_limit(run: GroupRun, task_id: int, left: list) -> int | None:
    """The highest comment id the task's cursor may pass: below the first item still to post or to read."""
    stops = [m.marker.source_id for m in left if m.task_id == task_id and m.marker.kind in TALK_KINDS]
    if task_id in run.details.hold_from:
        stops.append(run.details.hold_from[task_id])
    return min(stops) - 1 if stops else None


def inside_subtree(run: GroupRun, task: Task, everything: dict, previous: dict) -> bool:
    """Whether the task hangs under the master within depth. When an ancestor was not read this run (a
    quiet run lists only what changed), the snapshot's earlier answer stands: a guess would later
    announce a weeks-old task as new."""
    verdict = subtree_verdict(task, run.master, everything, run.config.depth)
    if verdict == REASON_OUTSIDE and _ancestor_unread(run, task, everything) and "inside" in previous:
        return bool(previous["inside"])
    return verdict is None


def _ancestor_unread(run: GroupRun, task: Task, everything: dict) -> bool:
    current, seen = task, set()
    while current.parent_id and current.parent_id != run.master.id and current.id not in seen:
        seen.add(current.id)
        parent = everything.get(current.parent_id)
        if parent is None:
            return True
        current = parent
    return False


def out_of_time_note(run: GroupRun) -> str:
    if run.master is None:
        return "run_deadline reached before this group's listings were read; the next run goes on"
    unknown = run.report.unsettled
    left = len(unposted(run)) - unknown
    unread = len(run.listing.dirty - run.details.read_ok)
    note = (f"run_deadline reached: {unread} changed task(s) unread and {left} mirror(s) unposted wait for "
            f"the next run, which goes on from here")
    if unknown:
        note += (f"; the answer to {unknown} post(s) sent as the deadline came was lost: whether they landed is "
                 f"unknown until the next run reads the master back, and it posts only those that did not")
    return note


def commit(run: GroupRun) -> None:
    if not run.report.ok:
        run.state.mark_error(local_now(), run.report.error or "")
        return
    if run.master is None:
        return  # the deadline came before the listings: nothing was learnt, the cursor stays
    everything = run.all_tasks()
    left = unposted(run)
    waiting = {m.task_id for m in left}
    held = list(held_items(run).values())
    entries = entry_dates(run)
    pending = set()
    for task_id, task in run.listing.tasks.items():
        if task_id == run.config.master_task:
            continue
        key = str(task_id)
        previous = run.state.tasks.get(key) or {}
        if settled(run, task_id, waiting):
            snap = snapshot_of(task, inside_subtree(run, task, everything, previous), previous)
        else:
            pending.add(task_id)
            if task_id not in run.details.read_ok or (task_id in run.details.no_progress
                                                      and task_id not in run.details.walks):
                continue  # nothing about it is settled: read again from where it was
            # Keep what the listing showed last time, so the task stays changed; only the cursors move.
            # A task never settled claims no side of the subtree ("inside" absent) until it is.
            snap = dict(previous) if previous else {**snapshot_of(task, False, None), "activity": None}
            if not previous:
                del snap["inside"]
            if task.chat_id:
                snap["chat"] = task.chat_id  # looked up this run: never asked again
        _remember_entry(snap, entries.get(task_id))
        _advance_cursors(run, task_id, snap, left + held)  # a held item is read again when its digest goes out
        if task_id in run.details.walks:
            _walk_on(run, task_id, snap)
        world = run.listing.worlds.get(task_id) or previous.get("world")
        if world:
            snap["world"] = world
        run.state.tasks[key] = snap
    pending |= run.listing.unresolved
    _keep_admitted(run, left)
    run.state.meta[PENDING] = sorted(pending)
    if run.state.meta.get("backfill") == "running" and not pending and not run.report.out_of_time:
        run.state.meta["backfill"] = "done"  # the history is in; from now on the group's baseline is its start
        run.state.baseline = EPOCH.isoformat()
    if run.state.baseline is None:  # a first sync, or one resumed from the master's markers
        baseline = run.listing.baseline
        run.state.baseline = (baseline or EPOCH).isoformat()
    cursor = run.listing.now or latest_date(run.listing.tasks.values()) or run.state.cursor
    if run.state.cursor and cursor and parse_date(cursor) < parse_date(run.state.cursor):
        cursor = run.state.cursor
    run.state.runs += 1
    run.state.mark_success(local_now(), cursor)


def _keep_admitted(run: GroupRun, left: list) -> None:
    """Comments planned and not posted keep the verdict they were first given (decide.admitted): a member's
    comment held back by the cap is posted later even if its author leaves the group meanwhile. Each is
    kept until the ledger holds its mirror."""
    kept = {str(m.marker) for m in (*left, *run.decision.quarantined) if m.marker.kind in TALK_KINDS}
    decided = run.decision.plan.decisions if run.decision.plan is not None else {}
    for key in run.state.meta.get(ADMITTED, []):
        marker = Marker.parse(key)
        # Posted, or excluded now by what is not membership (a hide rule, a deleted source): no longer waiting.
        if not run.state.has(marker) and decided.get(marker, ELIGIBLE) == ELIGIBLE:
            kept.add(key)
    if kept:
        run.state.meta[ADMITTED] = sorted(kept)
    else:
        run.state.meta.pop(ADMITTED, None)


def _remember_entry(snap: dict, entered: str | None) -> None:
    """When the task entered the subtree (decide.entry_dates; only tasks inside now have one): kept, even in a
    snapshot that did not move, so that later runs, and a re-read, judge its items alike."""
    if entered:
        snap["entered"] = entered
    else:
        snap.pop("entered", None)


def _walk_on(run: GroupRun, task_id: int, snap: dict) -> None:
    """A chat's first read walking back to the baseline (details._set_walks_aside): where it goes on, or,
    once it has reached the baseline, the cursor from which the chat is read forwards, oldest first."""
    lowest, lowest_after = run.details.walks[task_id]
    walked = [v for v in (snap.get("walk_back"), lowest) if v]
    if task_id in run.details.no_progress:  # still above the baseline: go on below what was read
        snap["walk_back"] = min(walked)
        return
    first_new = lowest_after or snap.get("walk_back") or lowest or 1
    snap["last_message_id"] = max(0, first_new - 1)
    snap.pop("walk_back", None)


def _advance_cursors(run: GroupRun, task_id: int, snap: dict, left: list) -> None:
    limit = cursor_limit(run, task_id, left)
    for name, read in (("last_comment_id", run.details.comment_cursor), ("last_message_id", run.details.chat_cursor)):
        if task_id in read:
            reached = read[task_id] if limit is None else min(read[task_id], limit)
            snap[name] = max(int(snap.get(name) or 0), reached)
