"""Phase 1, listings: which of a group's tasks changed since the last run.

One batch asks every group at once for its master and its task listings: a full listing on a
first sync and at a sweep, else the tasks changed since the cursor (with an overlap) and the
head of the activity order. A task is *changed* when anything the listing shows differs from
the snapshot the state kept of it.
"""
from __future__ import annotations

from datetime import datetime, timezone

from b24mirror import bitrix
from b24mirror.policy.edits import watches_edits
from b24mirror.policy.models import EPOCH, TALK_KINDS, Task, parse_date, readable_date
from b24mirror.policy.render.startnote import trusted_starts
from b24mirror.portal import PAGE, q_group_tasks, q_task, q_tasks_by_activity, q_tasks_by_ids, q_tasks_changed_since
from b24mirror.sync.common import Context, chunks, cursor_since, each, log, unwrap, wire_date
from b24mirror.sync.digest import due_sources, held_tasks
from b24mirror.sync.masters import baselines_in, trust, trusted_markers
from b24mirror.sync.records import GroupFailed, GroupRun
from b24mirror.sync.worlds import recall_chats


def task_changed(task: Task, snap: dict | None) -> bool:
    """Whether a listed task differs from its snapshot in anything that can mean news.

    Each signal covers a portal that leaves another unmoved: a comment may move only
    activityDate, a forum comment moves commentsCount, a field change moves changedDate.
    """
    if snap is None:
        return True
    return (
        snap.get("activity") != task.activity_date or snap.get("changed") != task.changed_date
        or snap.get("comments") != task.comments_count or snap.get("chat") != task.chat_id
        or snap.get("parent") != task.parent_id or snap.get("group") != task.group_id
    )


def read_listings(ctx: Context, runs: list[GroupRun]) -> None:
    queries = {}
    for run in runs:
        queries[(run.lane, "master")] = q_task(run.config.master_task)
        if run.config.target_task != run.config.master_task:
            queries[(run.lane, "target")] = q_task(run.config.target_task)
        for i, chunk in enumerate(chunks(sorted(set(pending_tasks(run)) | held_tasks(run)))):
            queries[(run.lane, "pending", i)] = q_tasks_by_ids(chunk)
        if run.listing.full:
            queries[(run.lane, "all")] = q_group_tasks(run.gid, 0)
            # The pages the group had last time ride along: a sweep costs no request of its own.
            for start in range(PAGE, len(run.state.tasks) + 1, PAGE):
                queries[(run.lane, "all", start)] = q_group_tasks(run.gid, start)
            continue
        queries[(run.lane, "active")] = q_tasks_by_activity(run.gid, 0)
        queries[(run.lane, "changed")] = q_tasks_changed_since(run.gid, wire_date(_since(run)))
    answers = ctx.portal.run_pages(queries)
    # Full listings (first syncs, sweeps): the rest of every group's pages go out together.
    listed = ctx.portal.group_tasks_many(
        {run.lane: (run.gid, answers[(run.lane, "all")],
                   {key[2]: page for key, page in answers.items() if key[:2] == (run.lane, "all") and len(key) == 3})
         for run in runs if run.listing.full})
    _read_masters_on_first_sync(ctx, runs, answers)

    def take(run: GroupRun) -> None:
        answer = answers[(run.lane, "master")]
        run.listing.master = _master_of(run, answer)
        if (run.lane, "target") in answers:
            run.listing.target = _target_of(run, answers[(run.lane, "target")])
        run.listing.now = str(answer.time.get("date_start") or "")  # the portal's "now", not ours
        if run.listing.full:
            run.listing.tasks.update((task.id, task) for task in unwrap(listed[run.lane]))
        else:
            _take_incremental(ctx, run, answers)
        answered = set()
        for key, page in answers.items():
            if key[:2] == (run.lane, "pending"):
                for task in unwrap(page).items:
                    answered.add(task.id)
                    run.listing.tasks.setdefault(task.id, task)
        run.listing.vanished = held_tasks(run) - answered
        _set_aside_undated(run)
        recall_chats(run)
        _find_changed(ctx, run)
        log.debug("group %d: %s", run.gid, run.listing)

    each(runs, take)


def _set_aside_undated(run: GroupRun) -> None:
    """A listed task with a date b24mirror cannot read waits (it is not compared, read or snapshotted)."""
    for task_id, task in list(run.listing.tasks.items()):
        bad = [d for d in (task.created_date, task.changed_date, task.activity_date) if not readable_date(d)]
        if bad and task_id != run.config.master_task:
            del run.listing.tasks[task_id]
            run.report.warnings.append(f"task {task_id}: the portal lists it with a date b24mirror cannot read "
                                       f"({bad[0]!r}); it waits, and is read again next run")


PENDING = "pending"  # group meta: tasks to read again next run, whatever the listings say (commit.py)


def pending_tasks(run: GroupRun) -> list[int]:
    """Tasks a run left partly done (PENDING, kept by commit.py): read again whatever the listings say."""
    return pending_in(run.state.meta)


def pending_in(meta) -> list[int]:
    """The pending tasks recorded in a group's meta (also read by `audit`, which runs no listing)."""
    return [int(t) for t in meta.get(PENDING, []) if str(t).isdigit()]


def _since(run: GroupRun) -> datetime:
    return cursor_since(run.state.cursor) or EPOCH


def _read_masters_on_first_sync(ctx: Context, runs: list[GroupRun], answers: dict) -> None:
    """A first sync looks for our own mirrors in the target (a lost state): all the targets in one batch."""
    masters = {}
    for run in runs:
        master = answers[(run.lane, "master")]
        if not (run.report.first_sync and _a_task(master) and master.items.group_id == run.gid):
            continue
        target = answers.get((run.lane, "target"), master)  # our mirrors are in the target
        if _a_task(target):
            masters[run] = (target.items, 0)
    for run, comments in ctx.portal.master_comments_many(masters).items():
        if not isinstance(comments, bitrix.BitrixError):  # else the group reads it by itself
            run.listing.master_read = comments


def _a_task(page) -> bool:
    return not isinstance(page, bitrix.BitrixError) and isinstance(page.items, Task)


def _take_incremental(ctx: Context, run: GroupRun, answers: dict) -> None:
    changed = unwrap(answers[(run.lane, "changed")])
    while True:
        run.listing.tasks.update((task.id, task) for task in changed.items)
        if changed.next is None:
            break
        query = q_tasks_changed_since(run.gid, wire_date(_since(run)))
        query.params["start"] = changed.next
        changed = unwrap(ctx.portal.run_pages({0: query})[0])
    # Follow the activity order only while it still shows tasks we have not seen in
    # this state: the first unchanged task ends the walk.
    page, start = unwrap(answers[(run.lane, "active")]), 0
    while True:
        fresh = [t for t in page.items if task_changed(t, run.state.tasks.get(str(t.id)))]
        for task in page.items:
            run.listing.tasks.setdefault(task.id, task)
        if len(fresh) < len(page.items) or page.next is None or len(page.items) < PAGE:
            break
        start += PAGE
        page = unwrap(ctx.portal.run_pages({0: q_tasks_by_activity(run.gid, start)})[0])


def _resume_from_markers(ctx: Context, run: GroupRun) -> datetime | None:
    """When the target already holds our mirrors or our start note, the baseline they carry (else the date of
    the oldest mirror); None when it holds neither."""
    comments = run.listing.master_read
    if comments is None:
        comments = run.listing.master_read = ctx.portal.master_comments(run.target, 0)
    found = trusted_markers(comments, ctx.me)
    noted = [since for since, _ in trusted_starts(comments, ctx.me)]  # posted before the first mirror
    if not found and not noted:
        return None
    trust(ctx, run, comments)
    recorded = [since for _, c in found for since in baselines_in(c.text)] + noted
    if recorded:  # the first sync's own baseline, carried by every mirror and the start note: nothing after it is lost
        return datetime.fromtimestamp(min(recorded), tz=timezone.utc)
    dates = [parse_date(c.date) for _, c in found if readable_date(c.date)]  # mirrors older than the record
    return min(dates) if dates else EPOCH


BACKFILL = "backfill"  # group meta: "running" while a backfill imports the history, then "done"


def backfill_starts(ctx: Context, group, gstate) -> bool:
    """Whether this run starts a backfill: asked for (flag or config) and not running; the config key
    starts one once, the flag every time it is given."""
    status = gstate.meta.get(BACKFILL)
    return status != "running" and (ctx.options.backfill or (group.backfill and status != "done"))


def _importing_history(ctx: Context, run: GroupRun) -> bool:
    return run.config.backfill or ctx.options.backfill or run.state.meta.get(BACKFILL) == "running"


def _find_changed(ctx: Context, run: GroupRun) -> None:
    listing = run.listing
    master = listing.master
    first = run.report.first_sync
    importing = _importing_history(ctx, run)
    listing.baseline = None if importing else (parse_date(run.state.baseline) if run.state.baseline else None)
    if first:
        listing.now = listing.now or latest_date(listing.tasks.values())
        resumed = _resume_from_markers(ctx, run)
        if resumed is not None:
            # The state was lost, not the group new: go on from the baseline of the first sync (its start
            # note, our mirrors). Everything since is re-read; the markers keep it from being posted twice.
            first = run.report.first_sync = False
            run.report.warnings.append(
                f"no usable record of this group in the state file; resumed from the target's own mirrors and start "
                f"note (baseline {resumed.isoformat()}); everything since is read again, nothing is posted twice")
            if listing.baseline is None and not importing:
                listing.baseline = None if resumed == EPOCH else resumed
        elif not importing:
            listing.baseline = parse_date(listing.now) if listing.now else EPOCH
    listing.first_sync = first
    pending = set(pending_tasks(run)) | due_sources(run) | (
        set(listing.tasks) - {master.id} if listing.backfill_starts else set())
    if listing.backfill_starts:
        run.state.meta[BACKFILL] = "running"  # every task is read once; what the cap holds back stays pending
        _read_from_the_start(run)  # a dry run's state is never saved: it only promises what the backfill posts
        if not ctx.options.dry_run:
            # On disk before the first post: a run stopped anywhere (a signal, SIGKILL, a crash) leaves every
            # task pending, and the next run, plain `sync` included, goes on with the backfill.
            run.state.meta[PENDING] = sorted(pending)
            ctx.state.save()
    for task in listing.tasks.values():
        if task.id == master.id or task.id in listing.targets:  # our own posts move a target's dates
            continue
        if first and listing.baseline is not None and not _moved_since(task, listing.baseline):
            continue  # nothing older than the first sync is mirrored: only learn the tree
        if task_changed(task, run.state.tasks.get(str(task.id))) or task.id in pending:
            listing.dirty.add(task.id)
    if listing.full and not first and watches_edits(run.config):
        # Edits and deletes move no date a listing shows: a sweep looks at mirrored chats and comments again.
        listing.dirty |= {t.id for t in listing.tasks.values()
                          if any(run.state.ledger.has_task(t.id, kind) for kind in TALK_KINDS)}


def _read_from_the_start(run: GroupRun) -> None:
    """A backfill imports a task's whole history, also of a task whose news since the first sync moved its
    cursors: they go back to the start (the ledger and the master's markers keep what is there from being
    posted twice), and commit moves them up again as the history goes out."""
    for snap in run.state.tasks.values():
        snap["last_comment_id"] = snap["last_message_id"] = 0
        snap.pop("walk_back", None)


def _moved_since(task: Task, baseline: datetime) -> bool:
    """A first sync takes its baseline at its first answer and lists later pages later: a task that
    moved in between is read now, or its snapshot would hide that news for good."""
    return any(readable_date(d) and parse_date(d) > baseline for d in (task.activity_date, task.changed_date) if d)


def _master_of(run: GroupRun, answer) -> Task:
    master = unwrap(answer).items  # tasks.task.get: a Task, or None for "missing or hidden"
    if master is None:
        raise GroupFailed(
            f"master task {run.config.master_task} of group {run.gid} does not exist or the webhook's user cannot "
            f"see it; check groups[].master_task, or add the user to the task")
    if master.group_id != run.gid:
        # Either key may be the wrong one: a mistyped group id is as likely as a mistyped task id.
        home = f"group {master.group_id}" if master.group_id else "no group"
        raise GroupFailed(
            f"master task {master.id} is in {home}, not in group {run.gid}: if group {run.gid} is not the "
            f"project's group, fix groups[].id{f' (group {master.group_id}?)' if master.group_id else ''}; "
            f"otherwise set groups[].master_task to a task of group {run.gid}. `b24mirror check` says whether "
            f"group {run.gid} exists")
    return master


def _target_of(run: GroupRun, answer) -> Task:
    target = unwrap(answer).items
    if target is None:
        raise GroupFailed(
            f"target task {run.config.target_task} ({run.config.label}) does not exist or the webhook's user "
            f"cannot see it; its mirrors wait (the group's other targets go on); fix or remove that "
            f"groups[].targets[] entry, or add the user to the task")
    return target


def latest_date(tasks) -> str:
    dates = [d for t in tasks for d in (t.changed_date, t.activity_date, t.created_date) if d]
    return max(dates, key=parse_date) if dates else ""
