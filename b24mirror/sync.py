"""One run over the configured groups: read → plan → apply → commit.

Reads for all groups go out together (one `batch` can serve many groups), so a run in
which nothing changed costs one request however many groups there are. Writes go one at
a time, each recorded in the state's ledger as soon as it is made; a write whose outcome
is unknown is settled by reading the master back, never by posting again blindly.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from b24mirror import bitrix
from b24mirror.edits import plan_updates, source_hash, watches_edits
from b24mirror.errors import UsageProblem
from b24mirror.models import (
    EPOCH,
    KIND_COMMENT,
    WORLD_CHAT,
    Comment,
    HistoryEvent,
    Marker,
    MasterComment,
    PlannedMirror,
    Task,
    User,
    parse_date,
)
from b24mirror.plan import GroupSnapshot, plan_group, subtree_verdict
from b24mirror.portal import (
    PAGE,
    ChatPage,
    Portal,
    q_chat_messages,
    q_classic_comments,
    q_group_tasks,
    q_history,
    q_members,
    q_task,
    q_task_chat,
    q_tasks_by_activity,
    q_tasks_by_ids,
    q_tasks_changed_since,
    q_users,
    reading_world,
)
from b24mirror.settings import Config, GroupConfig
from b24mirror.state import GroupState, State

log = logging.getLogger("b24mirror.sync")

# Read changes with an overlap: a task changed in the second the cursor was taken, or a
# clock that disagrees by a little, must not fall between two runs.
CURSOR_OVERLAP = timedelta(minutes=10)
MAX_CHAT_PAGES = 40  # per chat per run; the rest waits for the next run, nothing is skipped
POSTS_PER_REQUEST = 25  # mirrors posted per batch request: few requests, bodies of a sane size
CLASSIC_PAGE = "classic"  # marks a forum comment list that filled a page and is read on


@dataclass
class SyncOptions:
    groups: tuple[int, ...] = ()
    dry_run: bool = False
    backfill: bool = False
    max_posts: int | None = None


@dataclass
class GroupReport:
    group_id: int
    posted: dict[str, int] = field(default_factory=dict)  # kind -> count
    planned: list[PlannedMirror] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    held_back: int = 0  # planned but over the per-run cap
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    first_sync: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {
            "group": self.group_id, "ok": self.ok, "error": self.error, "posted": self.posted,
            "planned": len(self.planned), "skipped": self.skipped, "held_back": self.held_back,
            "warnings": self.warnings, "first_sync": self.first_sync,
        }


class GroupFailed(Exception):
    """This group cannot be synced this run; the others go on."""


# --- snapshots kept in the state, per task ---------------------------------------------

def _snap_of(task: Task, inside: bool, previous: dict | None) -> dict:
    previous = previous or {}
    return {
        "parent": task.parent_id, "group": task.group_id, "activity": task.activity_date,
        "changed": task.changed_date, "comments": task.comments_count, "chat": task.chat_id,
        "inside": inside,
        "last_comment_id": previous.get("last_comment_id", 0),
        "last_message_id": previous.get("last_message_id", 0),
    }


def _differs(task: Task, snap: dict | None) -> bool:
    if snap is None:
        return True
    return (
        snap.get("activity") != task.activity_date or snap.get("changed") != task.changed_date
        or snap.get("comments") != task.comments_count or snap.get("chat") != task.chat_id
        or snap.get("parent") != task.parent_id or snap.get("group") != task.group_id
    )


@dataclass(eq=False)  # keys of the follow-up reads: hashed by identity
class GroupRun:
    """What one group's run has learned so far."""

    config: GroupConfig
    state: GroupState
    report: GroupReport
    full: bool = False  # listing every task of the group (first sync, sweep)
    master: Task | None = None
    tasks: dict[int, Task] = field(default_factory=dict)  # tasks of the group seen this run
    extra: dict[int, Task] = field(default_factory=dict)  # ancestors fetched to check the subtree
    dirty: set[int] = field(default_factory=set)
    comments: dict[int, list[Comment]] = field(default_factory=dict)
    history: dict[int, list[HistoryEvent]] = field(default_factory=dict)
    read_ok: set[int] = field(default_factory=set)  # dirty tasks whose reads all succeeded
    members: frozenset[int] = frozenset()
    users: dict[int, User] = field(default_factory=dict)
    announce: set[int] = field(default_factory=set)
    chat_cursor: dict[int, int] = field(default_factory=dict)  # task -> newest message id read
    comment_cursor: dict[int, int] = field(default_factory=dict)
    incomplete: set[int] = field(default_factory=set)  # reads cut short: keep the task dirty
    revisited: dict[int, list[Comment]] = field(default_factory=dict)  # older chat messages read again for edits
    plan: object = None  # the group's plan before the master is read back
    trusted: frozenset[Marker] | None = None  # markers read back from the master this run
    todo: list[PlannedMirror] | None = None  # mirrors to post this run (None: not planned)
    master_read: list[MasterComment] | None = None  # the master's comments, read with the listings
    baseline: datetime | None = None
    now: str = ""

    @property
    def gid(self) -> int:
        return self.config.id

    def all_tasks(self) -> dict[int, Task]:
        merged = dict(self.extra)
        merged.update(self.tasks)
        if self.master is not None:
            merged[self.master.id] = self.master
        return merged


class Syncer:
    def __init__(self, config: Config, portal: Portal, state: State, options: SyncOptions,
                 progress: Callable[[int, int, int], None] | None = None) -> None:
        self.config = config
        self.portal = portal
        self.state = state
        self.options = options
        self.progress = progress or (lambda group_id, done, total: None)

    # --- the run -----------------------------------------------------------------------

    def run(self) -> list[GroupReport]:
        runs = [self._start(group) for group in self._selected_groups()]
        live = [r for r in runs if r.report.ok]
        self._guarded(live, self._read_listings)
        self._guarded([r for r in live if r.report.ok], self._read_details)
        for run in live:
            log.debug("group %d: %s listing, %d task(s) seen, %d changed", run.gid,
                      "full" if run.full else "incremental", len(run.tasks), len(run.dirty))
        self._each(live, self._plan)
        self._guarded([r for r in live if r.report.ok and r.todo is not None], self._read_masters_back)
        self._each(live, self._plan_against_master)
        self._guarded([r for r in live if r.report.ok and r.todo], self._post_all)
        if not self.options.dry_run:
            self._each([r for r in live if watches_edits(r.config) and r.todo is not None], self._apply_edits)
        for run in runs:
            self._commit(run)
        if not self.options.dry_run:
            self.state.save()
        return [r.report for r in runs]

    def _selected_groups(self) -> list[GroupConfig]:
        wanted = set(self.options.groups)
        known = {g.id for g in self.config.groups}
        unknown = wanted - known
        if unknown:
            raise UsageProblem(
                f"group {', '.join(map(str, sorted(unknown)))} is not in the configuration "
                f"(configured: {', '.join(map(str, sorted(known)))}); add it under groups: or fix --group"
            )
        return [g for g in self.config.groups if not wanted or g.id in wanted]

    def _start(self, group: GroupConfig) -> GroupRun:
        gstate = self.state.group(group.id)
        report = GroupReport(group.id, first_sync=gstate.baseline is None)
        due = (gstate.runs + group.id) % max(1, self.config.sweep_every) == 0
        return GroupRun(config=group, state=gstate, report=report, full=report.first_sync or due or not gstate.tasks)

    def _guarded(self, runs: list[GroupRun], step) -> None:
        """Run a step for several groups; a failure marks those groups failed, not the run."""
        if not runs:
            return
        try:
            step(runs)
        except (bitrix.BitrixError, bitrix.DeadlineExceeded, GroupFailed) as exc:
            if isinstance(exc, (bitrix.AuthError,)):
                raise  # a refused webhook fails every group alike: say it once
            for run in runs:
                if run.report.ok:
                    run.report.error = _describe(exc)

    # --- phase 1: which tasks changed -----------------------------------------------------

    def _read_listings(self, runs: list[GroupRun]) -> None:
        queries = {}
        for run in runs:
            queries[(run.gid, "master")] = q_task(run.config.master_task)
            if run.full:
                queries[(run.gid, "all")] = q_group_tasks(run.gid, 0)
                continue
            since = parse_date(run.state.cursor) - CURSOR_OVERLAP if run.state.cursor else EPOCH
            queries[(run.gid, "active", 0)] = q_tasks_by_activity(run.gid, 0)
            queries[(run.gid, "changed")] = q_tasks_changed_since(run.gid, _wire_date(since))
        answers = self.portal.run_pages(queries)
        # Full listings (first syncs, sweeps): the rest of every group's pages go out together.
        listed = self.portal.group_tasks_many({run.gid: (run.gid, answers[(run.gid, "all")]) for run in runs if run.full})
        # A first sync looks for our own mirrors in the master (a lost state): all the masters in one batch.
        masters = {run: answers[(run.gid, "master")] for run in runs if run.report.first_sync}
        masters = {run: (page.items, 0) for run, page in masters.items()
                   if not isinstance(page, bitrix.BitrixError) and isinstance(page.items, Task)
                   and page.items.group_id == run.gid}
        for run, comments in self.portal.master_comments_many(masters).items():
            if not isinstance(comments, bitrix.BitrixError):  # else the group reads it by itself
                run.master_read = comments

        def take(run: GroupRun) -> None:
            answer = answers[(run.gid, "master")]
            run.master = _master_of(run, answer)
            run.now = str(answer.time.get("date_start") or "")  # the portal's "now", not ours
            if run.full:
                for task in _unwrap(listed[run.gid]):
                    run.tasks[task.id] = task
            else:
                self._take_incremental(run, answers)
            self._find_dirty(run)

        self._each(runs, take)

    def _each(self, runs: list[GroupRun], step: Callable[[GroupRun], None]) -> None:
        """Apply a step group by group, so that one group's failure stays that group's."""
        for run in runs:
            if run.report.ok:
                self._guarded([run], lambda rs: step(rs[0]))

    def _take_incremental(self, run: GroupRun, answers: dict) -> None:
        changed = _unwrap(answers[(run.gid, "changed")])
        since = run.state.cursor and parse_date(run.state.cursor) - CURSOR_OVERLAP
        while True:
            for task in changed.items:
                run.tasks[task.id] = task
            if changed.next is None:
                break
            query = q_tasks_changed_since(run.gid, _wire_date(since or EPOCH))
            query.params["start"] = changed.next
            changed = _unwrap(self.portal.run_pages({0: query})[0])
        # Follow the activity order only while it still shows tasks we have not seen in
        # this state: the first unchanged task ends the walk.
        page, start = _unwrap(answers[(run.gid, "active", 0)]), 0
        while True:
            fresh = [t for t in page.items if _differs(t, run.state.tasks.get(str(t.id)))]
            for task in page.items:
                run.tasks.setdefault(task.id, task)
            if len(fresh) < len(page.items) or page.next is None or len(page.items) < PAGE:
                break
            start += PAGE
            page = _unwrap(self.portal.run_pages({0: q_tasks_by_activity(run.gid, start)})[0])

    def _resume_from_markers(self, run: GroupRun) -> datetime | None:
        """When the master already holds our mirrors, the date of the oldest one; else None."""
        comments = run.master_read if run.master_read is not None else self.portal.master_comments(run.master, 0)
        trusted = [c for c in comments if c.author_id == self.portal.own_user_id and len(c.markers) == 1]
        if not trusted:
            return None
        self._trust(run, comments)
        return min(parse_date(c.date) for c in trusted)

    def _find_dirty(self, run: GroupRun) -> None:
        master = run.master
        assert master is not None
        first = run.report.first_sync
        run.baseline = None if (run.config.backfill or self.options.backfill) else (
            parse_date(run.state.baseline) if run.state.baseline else None)
        if first:
            run.now = run.now or _latest_date(run.tasks.values())
            resumed = self._resume_from_markers(run)
            if resumed is not None:
                # The state was lost, not the group new: go on from the first mirror we ever
                # posted. Everything since is re-read; the markers keep it from being posted twice.
                first = False
                run.report.warnings.append(
                    f"the state file had no record of this group; resumed from the master's own mirrors "
                    f"(the oldest from {resumed.isoformat()})")
                if run.baseline is None and not (run.config.backfill or self.options.backfill):
                    run.baseline = resumed
            elif not (run.config.backfill or self.options.backfill):
                run.baseline = parse_date(run.now) if run.now else EPOCH
        for task in run.tasks.values():
            if task.id == master.id:
                continue
            snap = run.state.tasks.get(str(task.id))
            if first and run.baseline is not None:
                continue  # nothing older than the first sync is mirrored: only learn the tree
            if _differs(task, snap):
                run.dirty.add(task.id)
        if run.full and not first and watches_edits(run.config):
            # Edits and deletes move no date a listing shows: a sweep looks at mirrored chats again.
            mirrored = {Marker.parse(key).task_id for key in run.state.ledger if key.startswith("b24m:comment:")}
            run.dirty |= {t.id for t in run.tasks.values() if t.id in mirrored and t.chat_id}

    # --- phase 2: read what changed ---------------------------------------------------------

    def _resolve_chats(self, runs: list[GroupRun]) -> None:
        """A group forced to `comments: chat` may list tasks without their chat id: ask im.chat.get."""
        queries = {(run.gid, task_id): q_task_chat(task_id) for run in runs if run.config.comments_source == "chat"
                   for task_id in run.dirty if not run.tasks[task_id].chat_id}
        for (gid, task_id), chat_id in self.portal.run(queries).items():
            run = next(r for r in runs if r.gid == gid)
            if isinstance(chat_id, int):
                run.tasks[task_id] = replace(run.tasks[task_id], chat_id=chat_id)
            else:
                run.dirty.discard(task_id)
                run.report.warnings.append(
                    f"task {task_id}: no task chat found for it (comments: chat is set for group {gid}); "
                    f"if it is a classic task set comments: auto, else add user {self.portal.own_user_id} "
                    f"to the task")

    def _read_details(self, runs: list[GroupRun]) -> None:
        self._resolve_chats(runs)
        queries = {}
        for run in runs:
            if run.dirty:
                queries[(run.gid, "members")] = q_members(run.gid)
                missing_parents = {
                    t.parent_id for t in run.tasks.values()
                    if t.parent_id and t.parent_id not in run.tasks and t.parent_id != run.config.master_task
                }
                for i, chunk in enumerate(_chunks(sorted(missing_parents))):
                    queries[(run.gid, "parents", i)] = q_tasks_by_ids(chunk)
            for task_id in sorted(run.dirty):
                task = run.tasks[task_id]
                snap = run.state.tasks.get(str(task_id), {})
                queries[(run.gid, "history", task_id)] = q_history(task_id)
                if self._world(run, task) == WORLD_CHAT:
                    last = int(snap.get("last_message_id") or 0)
                    if last and watches_edits(run.config):
                        # Edits and deletes change old messages: look at the newest page again.
                        queries[(run.gid, "recent", task_id)] = q_chat_messages(task_id, task.chat_id)
                    queries[(run.gid, "chat", task_id)] = (
                        q_chat_messages(task_id, task.chat_id, first_id=last) if last
                        else q_chat_messages(task_id, task.chat_id))
                else:
                    last = int(snap.get("last_comment_id") or 0)
                    queries[(run.gid, "comments", task_id)] = q_classic_comments(task_id, last)
        answers = self.portal.run(queries)
        more_chat: dict = {}

        def take(run: GroupRun) -> None:
            if run.dirty:
                run.members = _unwrap(answers[(run.gid, "members")])
                for key, parents in answers.items():
                    if key[:2] == (run.gid, "parents"):
                        run.extra.update((task.id, task) for task in _unwrap(parents))
            for task_id in sorted(run.dirty):
                self._take_details(run, task_id, answers, more_chat)

        self._each(runs, take)
        self._read_more_chat({key: value for key, value in more_chat.items() if key[0].report.ok})
        self._read_users([run for run in runs if run.report.ok])

    def _world(self, run: GroupRun, task: Task) -> str:
        return reading_world(run.config.comments_source, task)

    def _take_details(self, run: GroupRun, task_id: int, answers: dict, more_chat: dict) -> None:
        task = run.tasks[task_id]
        ok = True
        history = answers[(run.gid, "history", task_id)]
        if isinstance(history, bitrix.BitrixError):
            ok = self._task_read_failed(run, task, history)
        else:
            run.history[task_id] = history
        if (run.gid, "comments", task_id) in answers:
            comments = answers[(run.gid, "comments", task_id)]
            if isinstance(comments, bitrix.BitrixError):
                ok = self._task_read_failed(run, task, comments) and False
            else:
                run.comments[task_id] = comments
                if comments:
                    run.comment_cursor[task_id] = max(c.id for c in comments)
                if len(comments) >= PAGE:
                    # Some portals may cap getlist at a page: ask again until a short answer.
                    more_chat[(run, task_id)] = (CLASSIC_PAGE, None)
        else:
            page = answers[(run.gid, "chat", task_id)]
            if isinstance(page, bitrix.BitrixError):
                ok = self._task_read_failed(run, task, page) and False
            else:
                self._take_chat_page(run, task, page, more_chat)
                recent = answers.get((run.gid, "recent", task_id))
                if isinstance(recent, ChatPage):
                    run.revisited.setdefault(task_id, []).extend(recent.messages)
        if ok:
            run.read_ok.add(task_id)

    def _take_chat_page(self, run: GroupRun, task: Task, page: ChatPage, more_chat: dict) -> None:
        snap = run.state.tasks.get(str(task.id), {})
        known_last = int(snap.get("last_message_id") or 0)
        run.users.update(page.users)
        fresh = [m for m in page.messages if m.id > known_last]
        run.comments.setdefault(task.id, []).extend(fresh)
        if fresh:
            run.chat_cursor[task.id] = max(run.chat_cursor.get(task.id, 0), max(m.id for m in fresh))
        if page.raw_count >= PAGE and fresh:
            more_chat[(run, task.id)] = (known_last, page)

    def _read_more_chat(self, more_chat: dict) -> None:
        """Follow chats with more than a page of news: forwards from a cursor, backwards on a first read.

        Forum comment lists that filled a page are followed the same way, by `>ID`.
        """
        rounds = 0
        while more_chat and rounds < MAX_CHAT_PAGES:
            rounds += 1
            queries = {}
            for (run, task_id), (known_last, page) in more_chat.items():
                task = run.tasks[task_id]
                if known_last is CLASSIC_PAGE:
                    queries[(run, task_id)] = q_classic_comments(task_id, run.comment_cursor[task_id])
                    continue
                ids = [m.id for m in page.messages]
                if known_last:
                    queries[(run, task_id)] = q_chat_messages(task_id, task.chat_id, first_id=max(ids))
                elif run.baseline is not None and all(parse_date(m.date) < run.baseline for m in page.messages):
                    continue  # walked back past the baseline: older messages are never mirrored
                else:
                    queries[(run, task_id)] = q_chat_messages(task_id, task.chat_id, last_id=min(ids))
            answers = self.portal.run(queries)
            next_round = {}
            for key, page in answers.items():
                run, task_id = key
                if isinstance(page, bitrix.BitrixError):
                    run.read_ok.discard(task_id)
                    continue
                known_last = more_chat[key][0]
                if known_last is CLASSIC_PAGE:
                    if page:
                        run.comments[task_id].extend(page)
                        run.comment_cursor[task_id] = max(c.id for c in page)
                    if len(page) >= PAGE:
                        next_round[key] = more_chat[key]
                    continue
                self._take_chat_page(run, run.tasks[task_id], page, {})
                if page.raw_count >= PAGE and page.messages:
                    next_round[key] = (known_last, page)
            more_chat = next_round
        for run, task_id in more_chat:
            run.incomplete.add(task_id)

    def _read_users(self, runs: list[GroupRun]) -> None:
        """Classic comments carry no extranet flag: ask user.get about their authors, once per run."""
        queries = {}
        for run in runs:
            authors = {c.author_id for cs in run.comments.values() for c in cs if c.author_id} - set(run.users)
            for i, chunk in enumerate(_chunks(sorted(authors))):
                queries[(run.gid, i)] = q_users(chunk)
        answers = self.portal.run(queries)
        for (gid, _), users in answers.items():
            run = next(r for r in runs if r.gid == gid)
            run.users.update(_unwrap(users))

    def _task_read_failed(self, run: GroupRun, task: Task, error: bitrix.BitrixError) -> bool:
        if isinstance(error, bitrix.ScopeError):
            raise GroupFailed(f"the webhook lacks the `{error.scope}` scope needed to read task {task.id}; "
                              f"add it to the webhook (Developer resources → Inbound webhook)")
        if isinstance(error, bitrix.PermissionDenied) and self._world(run, task) == WORLD_CHAT:
            me = self.portal.own_user_id
            if run.config.auto_observe and not self.options.dry_run:
                self.portal.add_auditor(task, me)
                run.report.warnings.append(f"task {task.id}: added user {me} as an observer to read its chat")
            else:
                run.report.warnings.append(
                    f"task {task.id}: user {me} is not a participant of its chat; add user {me} as an observer "
                    f"of task {task.id}, or set auto_observe: true for group {run.gid}")
            return False
        run.report.warnings.append(f"task {task.id}: {_describe(error)}")
        return False

    # --- phase 3: plan, read the master back, post --------------------------------------------

    def _plan(self, run: GroupRun) -> None:
        assert run.master is not None
        run.plan = plan_group(self._snapshot(run, frozenset(self._known(run))))
        run.todo = []

    def _read_masters_back(self, runs: list[GroupRun]) -> None:
        """Markers in the master are the truth the ledger may have lost: read them before posting.
        The masters of every group with something to post are read in one batch."""
        wanted = {run: (run.master, int(run.state.meta.get("master_seen_id") or 0))
                  for run in runs if run.plan is not None and run.plan.mirrors}
        answers = self.portal.master_comments_many(wanted)
        with self.state.one_write():
            for run, comments in answers.items():
                if not isinstance(comments, bitrix.BitrixError):  # else the group reads it again by itself
                    run.trusted = frozenset(self._trust(run, comments))

    def _plan_against_master(self, run: GroupRun) -> None:
        plan = run.plan
        assert plan is not None
        if plan.mirrors:
            trusted = run.trusted if run.trusted is not None else self._read_master_markers(run)
            plan = plan_group(self._snapshot(run, frozenset(self._known(run)) | trusted))
        run.report.skipped = plan.skipped
        cap = self.options.max_posts or run.config.max_posts
        todo, held = plan.mirrors[:cap], plan.mirrors[cap:]
        run.report.planned = list(plan.mirrors)
        run.report.held_back = len(held)
        for task_id in {m.task_id for m in held}:
            run.incomplete.add(task_id)
        run.todo = [] if self.options.dry_run else list(todo)

    def _post_all(self, runs: list[GroupRun]) -> None:
        """Post every group's mirrors, several groups to a request (at most POSTS_PER_REQUEST posts in one),
        each group's in order. Halt keeps the order: a post that fails stops the rest of its request, and
        another group's posts stopped that way did not run: they go in the next request."""
        queue = {run: list(run.todo) for run in runs}
        done = dict.fromkeys(queue, 0)
        while queue:
            request, room = [], POSTS_PER_REQUEST
            for run, todo in queue.items():
                if room <= 0:
                    break
                request.append((run, todo[:room]))
                room -= len(request[-1][1])
            try:
                items = self.portal.post_many([(run.master, m.text) for run, chunk in request for m in chunk])
            except bitrix.OutcomeUnknown:
                items = None
            except (bitrix.BitrixError, bitrix.DeadlineExceeded) as exc:
                if isinstance(exc, bitrix.AuthError):
                    raise
                for run, _ in request:  # nothing of this request ran: the other groups go on
                    run.report.error = _describe(exc)
                    del queue[run]
                continue
            with self.state.one_write():  # every post of the request recorded before the next is sent
                self._settle_request(request, items, queue, done)

    def _settle_request(self, request: list, items: list | None, queue: dict, done: dict) -> None:
        offset = 0
        for run, chunk in request:
            answers = items[offset:offset + len(chunk)] if items is not None else None
            offset += len(chunk)
            settled = 0

            def settle(rs: list[GroupRun], run=run, chunk=chunk, answers=answers) -> None:
                nonlocal settled
                settled = self._post_chunk(run, chunk, answers)

            self._guarded([run], settle)
            if not run.report.ok:
                del queue[run]
                continue
            self._posted_chunk(run, chunk[:settled])
            done[run] += settled
            self.progress(run.gid, done[run], len(run.todo))
            queue[run] = queue[run][settled:]
            if not queue[run]:
                del queue[run]

    def _posted_chunk(self, run: GroupRun, posted: list[PlannedMirror]) -> None:
        if watches_edits(run.config):
            sources = {Marker(KIND_COMMENT, c.task_id, c.id): c for cs in run.comments.values() for c in cs}
            for mirror in posted:
                if mirror.marker in sources:
                    self._hashes(run)[str(mirror.marker)] = source_hash(sources[mirror.marker].text)

    def _hashes(self, run: GroupRun) -> dict:
        return run.state.meta.setdefault("source_hashes", {})

    def _apply_edits(self, run: GroupRun) -> None:
        for task_id in sorted(set(run.revisited) | set(run.comments)):
            if task_id not in run.read_ok:
                continue
            messages = {m.id: m for m in run.revisited.get(task_id, []) + run.comments.get(task_id, [])}
            updates = plan_updates(
                run.config, run.master, run.tasks[task_id], messages.values(), ledger=run.state.ledger,
                hashes=self._hashes(run), users=run.users, portal_url=self.portal.portal_url,
            )
            for update in updates:
                self.portal.update_comment(run.master, update.mirror_id, update.text)
                self._hashes(run)[str(update.marker)] = update.source_hash
                run.report.posted["update"] = run.report.posted.get("update", 0) + 1
                self.state.save()

    def _snapshot(self, run: GroupRun, known: frozenset[Marker]) -> GroupSnapshot:
        readable = run.read_ok
        return GroupSnapshot(
            group=run.config, master=run.master, tasks=run.all_tasks(),
            comments={t: c for t, c in run.comments.items() if t in readable},
            history={t: h for t, h in run.history.items() if t in readable},
            announce=frozenset(self._announce(run)), members=run.members, users=run.users,
            own_user_id=self.portal.own_user_id, baseline=run.baseline, known=known,
            portal_url=self.portal.portal_url,
        )

    def _announce(self, run: GroupRun) -> set[int]:
        """Tasks that entered the master's subtree since the last run: created, or moved in."""
        found = set()
        everything = run.all_tasks()
        for task_id in run.dirty:
            task = run.tasks[task_id]
            snap = run.state.tasks.get(str(task_id))
            was_inside = bool(snap and snap.get("inside"))
            if not was_inside and subtree_verdict(task, run.master, everything, run.config.depth) is None:
                if snap is None and not _entered_since_baseline(run, task):
                    continue  # the state forgot it (lost or rebuilt), not a newcomer
                found.add(task_id)
        return found

    def _known(self, run: GroupRun) -> set[Marker]:
        return {Marker.parse(key) for key in run.state.ledger}

    def _read_master_markers(self, run: GroupRun) -> frozenset[Marker]:
        after = int(run.state.meta.get("master_seen_id") or 0)
        comments = self.portal.master_comments(run.master, after)
        return frozenset(self._trust(run, comments))

    def _trust(self, run: GroupRun, comments: list[MasterComment]) -> set[Marker]:
        """Markers count only on comments b24mirror's own user wrote: a person can type a marker too."""
        me = self.portal.own_user_id
        found, unrecorded = set(), []
        for comment in comments:
            if comment.author_id != me or len(comment.markers) != 1:
                continue
            marker = comment.markers[0]
            found.add(marker)
            if not run.state.has(marker):
                unrecorded.append((marker, comment.id, comment.date))
        if not self.options.dry_run:
            run.state.record_posts(unrecorded)
        if comments and not self.options.dry_run:
            run.state.meta["master_seen_id"] = max(c.id for c in comments)
        return found

    def _post_chunk(self, run: GroupRun, chunk: list[PlannedMirror], items: list | None) -> int:
        """Settle mirrors posted in one request, in order, each recorded in the ledger once it is known to exist.

        items: the answers to the posts (None when the request's outcome is unknown). Returns how many of
        the chunk are settled: fewer than all when another group's failure halted the request before them."""
        failure, posted = None, []
        for index, mirror in enumerate(chunk):
            item = items[index] if items is not None else None
            mirror_id = _posted_id(item)
            if mirror_id is not None:
                posted.append((mirror.marker, mirror_id, _local_now()))
                self._count_post(run, mirror)
                continue
            if item is not None and getattr(item.error, "code", "") == "BATCH_HALTED":
                run.state.record_posts(posted)
                return index  # this group's own posts all landed: an earlier group's failure stopped these
            failure = item.error if item is not None and item.error is not None else (
                bitrix.OutcomeUnknown("OUTCOME_UNKNOWN", f"a post was answered with {str(item.result)[:60]!r}, not a "
                                      "comment id") if item is not None else None)
            break
        run.state.record_posts(posted)  # one write for the batch, before anything else is posted
        if items is not None and failure is None:
            return len(chunk)
        # Some posts may or may not have landed: the master itself says which, never a blind retry.
        landed = self._read_master_markers(run)  # records what it finds in the ledger
        for index, mirror in enumerate(chunk):
            answered = items is not None and _posted_id(items[index]) is not None
            if not answered and mirror.marker in landed:
                self._count_post(run, mirror)
        missing = [m for m in chunk if not run.state.has(m.marker)]
        if missing:
            reason = _describe(failure) if failure is not None else "the portal's answer was lost"
            raise GroupFailed(f"{len(missing)} mirror(s) not posted ({reason}); they will be posted next run")
        return len(chunk)

    def _count_post(self, run: GroupRun, mirror: PlannedMirror) -> None:
        kind = mirror.marker.kind
        run.report.posted[kind] = run.report.posted.get(kind, 0) + 1

    # --- commit ------------------------------------------------------------------------------

    def _commit(self, run: GroupRun) -> None:
        if self.options.dry_run:
            return
        if not run.report.ok:
            run.state.mark_error(_local_now(), run.report.error or "")
            return
        everything = run.all_tasks()
        for task_id, task in run.tasks.items():
            if task_id == run.config.master_task:
                continue
            key = str(task_id)
            previous = run.state.tasks.get(key)
            if task_id in run.dirty and (task_id not in run.read_ok or task_id in run.incomplete):
                continue  # read again next run: nothing is lost by waiting
            inside = run.master is not None and subtree_verdict(task, run.master, everything, run.config.depth) is None
            snap = _snap_of(task, inside, previous)
            if task_id in run.comment_cursor:
                snap["last_comment_id"] = run.comment_cursor[task_id]
            if task_id in run.chat_cursor:
                snap["last_message_id"] = run.chat_cursor[task_id]
            run.state.tasks[key] = snap
        if run.report.first_sync and run.baseline is not None:
            run.state.baseline = run.baseline.isoformat()
        elif run.report.first_sync:
            run.state.baseline = EPOCH.isoformat()
        cursor = run.now or _latest_date(run.tasks.values()) or run.state.cursor
        if run.state.cursor and cursor and parse_date(cursor) < parse_date(run.state.cursor):
            cursor = run.state.cursor
        run.state.runs += 1
        run.state.mark_success(_local_now(), cursor)


# --- helpers ---------------------------------------------------------------------------------

def _unwrap(value):
    if isinstance(value, bitrix.BitrixError):
        raise value
    return value


def _master_of(run: GroupRun, answer) -> Task:
    master = _unwrap(answer).items  # tasks.task.get: a Task, or None for "missing or hidden"
    if master is None:
        raise GroupFailed(
            f"master task {run.config.master_task} of group {run.gid} does not exist or the webhook's user cannot "
            f"see it; check groups[].master_task, or add the user to the task")
    if master.group_id != run.gid:
        raise GroupFailed(
            f"master task {master.id} belongs to group {master.group_id or 'none'}, not to group {run.gid}; "
            f"fix groups[].master_task")
    return master


def _entered_since_baseline(run: GroupRun, task: Task) -> bool:
    """For a task the state has no record of: created, or moved (parent or group), after the baseline.

    After a lost or rebuilt state every task lacks a record; without this check each one that
    changed since the baseline would be announced as a new subtask. Its own history tells a
    newcomer from a task the state forgot; unread history waits for the next run.
    """
    if run.baseline is None or parse_date(task.created_date) >= run.baseline:
        return True
    return any((event.field or "").upper() in ("PARENT_ID", "GROUP_ID") and parse_date(event.date) >= run.baseline
               for event in run.history.get(task.id, []))


def _chunks(ids: list[int], size: int = PAGE) -> list[list[int]]:
    """Lists by id come back a page (50) at a time: ask for at most a page per command."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _posted_id(item) -> int | None:
    """The new comment's id from a post's answer; None when the answer carries none (an error, or a
    malformed result: the post may have landed, so the master is read back rather than posted again)."""
    if item is None or item.error is not None:
        return None
    try:
        mirror_id = int(item.result)
    except (TypeError, ValueError):
        return None
    return mirror_id if mirror_id > 0 else None


def _latest_date(tasks) -> str:
    dates = [d for t in tasks for d in (t.changed_date, t.activity_date, t.created_date) if d]
    return max(dates, key=parse_date) if dates else ""


def _wire_date(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _local_now() -> str:
    """For the record shown by `status` only: cursors and baselines come from the portal's dates."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _describe(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__
