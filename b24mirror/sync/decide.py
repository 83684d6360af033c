"""Phase 3, decide: the pure plan, first against the ledger, then against the master's markers.

The plan itself lives in plan.py (no I/O); this phase only gathers its inputs from the
listing and the details, and caps what one run posts (the rest waits, its tasks stay changed).
"""
from __future__ import annotations

from b24mirror.policy.models import Marker, Task, parse_date
from b24mirror.policy.entries import entry_dates as entries_of, latest
from b24mirror.policy.plan import GroupSnapshot, entry_from_history, plan_group, subtree_verdict
from b24mirror.sync.common import Context, log, source_hashes
from b24mirror.sync.digest import hold_for_digest
from b24mirror.sync.masters import read_master_markers
from b24mirror.sync.records import GroupRun

# A post the portal refuses this many times (each a definite refusal) is left out of later runs, so
# that one item it will never take does not hold back every later mirror of its group.
QUARANTINE_AFTER = 3
REJECTED = "rejected"  # group meta


def plan_from_ledger(ctx: Context, run: GroupRun) -> None:
    run.decision.plan = plan_group(snapshot(ctx, run, ledger_markers(run)))
    run.decision.todo = []


def plan_against_master(ctx: Context, run: GroupRun) -> None:
    decision = run.decision
    plan = decision.plan
    if plan.mirrors:
        trusted = decision.trusted if decision.trusted is not None else read_master_markers(ctx, run)
        plan = decision.plan = plan_group(snapshot(ctx, run, ledger_markers(run) | trusted))
    run.report.skipped = plan.skipped
    refused = rejections(run)
    out = frozenset(Marker.parse(key) for key, record in refused.items() if record.get("count", 0) >= QUARANTINE_AFTER)
    decision.quarantined = [m for m in plan.mirrors if m.marker in out]
    postable = hold_for_digest(ctx, run, [m for m in plan.mirrors if m not in decision.quarantined], out)
    cap = ctx.options.max_posts or run.config.max_posts
    todo, decision.held = postable[:cap], postable[cap:]
    run.report.planned = list(todo)  # what this run posts (a dry run: would post): due digests, not held items
    run.report.held_back = len(decision.held)
    run.report.quarantined = len(decision.quarantined)
    for mirror in decision.quarantined:
        run.report.warnings.append(
            f"{mirror.marker}: quarantined, the portal refused it {QUARANTINE_AFTER} times "
            f"({refused[str(mirror.marker)].get('error', '')}); fix the cause, then run `b24mirror repair "
            f"--group {run.gid}`")
    decision.todo = [] if ctx.options.dry_run else list(todo)
    log.debug("group %d: %s", run.gid, decision)


def rejections(run: GroupRun) -> dict:
    """Marker -> {count, error, at}: posts the portal refused (a definite answer, not a lost one)."""
    return run.state.meta.setdefault(REJECTED, {})


def ledger_markers(run: GroupRun) -> frozenset[Marker]:
    """What the ledger knows of the tasks read this run (and every subtask announced): the planner
    asks of nothing else, and a run must not walk the whole history."""
    return run.state.ledger.known_for(set(run.details.comments) | set(run.details.history))


def snapshot(ctx: Context, run: GroupRun, known: frozenset[Marker]) -> GroupSnapshot:
    details = run.details
    readable = details.read_ok
    return GroupSnapshot(
        group=run.config, master=run.master, target=run.target, tasks=run.all_tasks(),
        comments={t: c for t, c in details.comments.items() if t in readable},
        history={t: h for t, h in details.history.items() if t in readable},
        announce=frozenset(newcomers(run)), members=details.members, users=details.users,
        own_user_id=ctx.me, baseline=run.listing.baseline, known=known,
        portal_url=ctx.portal.portal_url, entered=entry_dates(run), admitted=admitted(run.state),
        results={t: r for t, r in details.results.items() if t in readable}, hashes=source_hashes(run),
        forums=details.forums,
    )


ADMITTED = "admitted"  # group meta: planned comment mirrors not posted yet, judged eligible when first seen


def admitted(gstate) -> frozenset[Marker]:
    """Comments judged eligible by membership when first seen and not posted yet (held back by the cap, cut off
    by the deadline or a stop): that verdict holds when their author has left the group since."""
    return frozenset(Marker.parse(key) for key in gstate.meta.get(ADMITTED, []))


def entry_dates(run: GroupRun) -> dict[int, str]:
    """Task id -> when it entered the master's subtree, for the listed tasks inside it now that entered it
    (moved in, moved up within depth, moved into the group, or carried in by an ancestor). Nothing of a
    task dated before its entry is mirrored; commit keeps the date in the task's snapshot (`entered`).

    The latest of what the snapshot recorded and what the task's own history says
    (plan.entry_from_history), read whenever the task was read: a task the state knew as inside may have
    left and come back between two runs, and what was written while it was away stays out. A task the
    state knew to hang outside, whose history does not say, entered after the state's cursor.
    """
    everything, master = run.all_tasks(), run.master
    remembered = _remembered_tasks(run, everything)

    def own_entry(task: Task) -> str | None:
        snap = run.state.tasks.get(str(task.id)) or {}
        history = run.details.history.get(task.id) if task.id in run.details.read_ok else None
        own = snap.get("entered")
        if history or not snap.get("inside"):
            moved_in = entry_from_history(task, history or [], master, remembered, run.config.depth)
            if moved_in is None and snap.get("inside") is False and not own:
                moved_in = run.state.cursor or None
            own = latest(own, moved_in)
        return own

    return entries_of(everything, run.listing.tasks.values(), master, run.config.depth, own_entry)


def _remembered_tasks(run: GroupRun, everything: dict[int, Task]) -> dict[int, Task]:
    """The tasks read this run, and stand-ins from the snapshots for those it did not read: undoing a move
    within the subtree asks where a former parent hangs, and a quiet run reads only what changed. A
    stand-in carries only the parent and the group, all a subtree verdict looks at."""
    remembered = dict(everything)
    for key, snap in run.state.tasks.items():
        if key.isdigit() and int(key) not in remembered and "group" in snap:
            remembered[int(key)] = Task(int(key), "", snap.get("group"), snap.get("parent"), 0, 0, 0, "", "")
    return remembered


def newcomers(run: GroupRun) -> set[int]:
    """Tasks that entered the master's subtree since the last run: created, or moved in. While a backfill
    imports the history, every task inside is: its announcement is part of that history (the ledger and the
    master's markers keep one already posted from going out again)."""
    found = set()
    everything = run.all_tasks()
    importing = run.listing.baseline is None and run.state.meta.get("backfill") == "running"
    for task_id in run.listing.dirty:
        task = run.listing.tasks[task_id]
        snap = run.state.tasks.get(str(task_id))
        was_inside = bool(snap and snap.get("inside")) and not importing
        if not was_inside and subtree_verdict(task, run.master, everything, run.config.depth) is None:
            if (snap is None or "inside" not in snap) and not _entered_since_baseline(run, task):
                continue  # the state forgot it (lost or rebuilt), or never settled it: not a newcomer
            found.add(task_id)
    return found


def _entered_since_baseline(run: GroupRun, task: Task) -> bool:
    """For a task the state has no record of: created, or moved (parent or group), after the baseline.

    After a lost or rebuilt state every task lacks a record; without this check each one that
    changed since the baseline would be announced as a new subtask. Its own history tells a
    newcomer from a task the state forgot; unread history waits for the next run.
    """
    baseline = run.listing.baseline
    if baseline is None or parse_date(task.created_date) >= baseline:
        return True
    return any((event.field or "").upper() in ("PARENT_ID", "GROUP_ID") and parse_date(event.date) >= baseline
               for event in run.details.history.get(task.id, []))
