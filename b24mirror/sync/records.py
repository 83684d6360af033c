"""The values the sync phases hand on to each other, one group at a time.

A run of one group is a `GroupRun`: what the configuration and state say about it, and one
value per phase — the `Listing` (which tasks changed), the `Details` (what was read about
them), the `Decision` (what to post). Each prints as a short summary (`-v` logs it after
every phase), so "what did this phase decide" is one line to read, not a debugger session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from b24mirror.policy.models import (Comment, HistoryEvent, Marker, MasterComment, PlannedMirror, Result, Task, User,
                                     talk_as_comment)
from b24mirror.config.settings import GroupConfig, lane_label
from b24mirror.state import GroupState


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
    quarantined: int = 0  # mirrors the portal refused QUARANTINE_AFTER times: left out until repaired
    refused: int = 0  # posts the portal refused this run (the rest went on): the run exits 1
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done because the config asked (not a warning)
    error: str | None = None
    first_sync: bool = False
    out_of_time: bool = False  # run_deadline came first: what is done is kept, the rest waits (not an error)
    unsettled: int = 0  # posts whose answer the deadline cut off: landed or not, the next run reads back to know
    digest_held: int = 0  # items held for the next digest
    digest_items: int = 0  # items carried by the digests posted this run (posted["digest"] counts the digests)
    digest_due: str | None = None  # when that digest is due (the portal's clock), if anything is held
    checklist: dict[str, int] = field(default_factory=dict)  # checklist action -> count
    lane: int = 0  # the state's key of this (group, target) (GroupConfig.lane); 0: the plain group id
    target: int | None = None  # a `targets:` entry's task, named in every output; None: the master itself
    target_name: str = ""

    @property
    def state_key(self) -> int:
        return self.lane or self.group_id

    @property
    def label(self) -> str:
        return lane_label(self.group_id, self.target, self.target_name)

    @property
    def ok(self) -> bool:
        return self.error is None

    def count_post(self, mirror: "PlannedMirror | str") -> None:
        """One post: a mirror (a digest counts as one digest of its items) or a kind ("update")."""
        kind = mirror if isinstance(mirror, str) else (DIGEST if mirror.covers else talk_as_comment(mirror.marker.kind))
        self.posted[kind] = self.posted.get(kind, 0) + 1
        if not isinstance(mirror, str) and mirror.covers:
            self.digest_items += len(mirror.covers)

    def to_dict(self) -> dict:
        return {
            "group": self.group_id, "ok": self.ok, "error": self.error, "posted": self.posted,
            "planned": len(self.planned), "skipped": self.skipped, "held_back": self.held_back,
            "quarantined": self.quarantined, "refused": self.refused, "out_of_time": self.out_of_time,
            "unsettled": self.unsettled,
            "digest": {"held": self.digest_held, "due": self.digest_due, "items_posted": self.digest_items}, "checklist": self.checklist,
            "warnings": self.warnings, "notes": self.notes, "first_sync": self.first_sync,
            **({"target": self.target, "target_name": self.target_name} if self.target is not None else {}),
        }


DIGEST = "digest"  # the kind a posted digest is counted under


class GroupFailed(Exception):
    """This group cannot be synced this run; the others go on."""


@dataclass
class Listing:
    """Phase 1, listings: the group's tasks seen this run and which of them changed."""

    full: bool = False  # every task of the group listed (first sync, sweep), not only recent changes
    master: Task | None = None  # the source subtree's root (`master_task`)
    target: Task | None = None  # where mirrors go, when a `targets:` entry names another task than the master
    targets: frozenset[int] = frozenset()  # every target task of the group: our own posts move their dates
    tasks: dict[int, Task] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)  # tasks whose details are read this run
    worlds: dict[int, str] = field(default_factory=dict)  # changed task -> where its talk is (chat, classic)
    unresolved: set[int] = field(default_factory=set)  # changed tasks whose world could not be told: not read
    vanished: set[int] = field(default_factory=set)  # asked for by id and not answered: deleted or out of sight
    now: str = ""  # the portal's clock at the listing: the next cursor
    baseline: datetime | None = None  # nothing older is mirrored (None: history is imported)
    first_sync: bool = False  # no record of the group, and no mirror of ours found in the master
    backfill_starts: bool = False  # --backfill or backfill: true, not yet done: every task is read once
    master_read: list[MasterComment] | None = None  # the master's comments, read along on a first sync

    def __str__(self) -> str:
        return (f"listing: {'full' if self.full else 'incremental'}, {len(self.tasks)} task(s) seen, "
                f"{len(self.dirty)} changed, now={self.now or '?'}, baseline={self.baseline or 'none'}")


@dataclass
class Details:
    """Phase 2, details: what was read about the changed tasks."""

    parents: dict[int, Task] = field(default_factory=dict)  # ancestors fetched to judge the subtree
    comments: dict[int, list[Comment]] = field(default_factory=dict)  # new comments or chat messages
    revisited: dict[int, list[Comment]] = field(default_factory=dict)  # older messages read again for edits
    history: dict[int, list[HistoryEvent]] = field(default_factory=dict)
    results: dict[int, list[Result]] = field(default_factory=dict)  # task -> its results, all of them
    members: frozenset[int] = frozenset()
    users: dict[int, User] = field(default_factory=dict)
    read_ok: set[int] = field(default_factory=set)  # changed tasks whose reads all succeeded
    incomplete: set[int] = field(default_factory=set)  # reads cut short: the task stays changed
    no_progress: set[int] = field(default_factory=set)  # cut short walking back: no cursor may move
    hold_from: dict[int, int] = field(default_factory=dict)  # task -> lowest item id to read again
    walks: dict[int, tuple] = field(default_factory=dict)  # chat task -> (lowest id read, lowest after baseline)
    comment_cursor: dict[int, int] = field(default_factory=dict)  # task -> newest forum comment id read
    chat_cursor: dict[int, int] = field(default_factory=dict)  # task -> newest chat message id read
    forums: dict[int, frozenset[int]] = field(default_factory=dict)  # both worlds: the forum's ids, read whole

    def __str__(self) -> str:
        return (f"details: {len(self.read_ok)} task(s) read, {len(self.incomplete)} cut short, "
                f"{sum(map(len, self.comments.values()))} comment(s), {sum(map(len, self.history.values()))} "
                f"history row(s), {len(self.members)} member(s), {len(self.parents)} ancestor(s)")


@dataclass
class Decision:
    """Phase 3, decide: the plan against the ledger, then against the master's own markers."""

    plan: object = None  # plan.GroupPlan
    trusted: frozenset[Marker] | None = None  # markers read back from the master this run
    todo: list[PlannedMirror] | None = None  # to post this run (None: not planned)
    held: list[PlannedMirror] = field(default_factory=list)  # over the per-run cap: posted by later runs
    quarantined: list[PlannedMirror] = field(default_factory=list)  # refused by the portal too often
    digest_items: dict = field(default_factory=dict)  # marker -> the held item a digest post carries
    resplit: list[PlannedMirror] = field(default_factory=list)  # a refused digest's halves, posted next
    shown: dict = field(default_factory=dict)  # marker -> its mirror's text, read back where the ledger had none

    @property
    def held_tasks(self) -> set[int]:
        return {m.task_id for m in self.held}

    def __str__(self) -> str:
        planned = len(self.plan.mirrors) if self.plan is not None else 0
        return (f"decision: {planned} planned, {len(self.todo or ())} to post, "
                f"{len(self.trusted or ())} marker(s) read back")


@dataclass(eq=False)  # keys of cross-group requests: hashed by identity
class GroupRun:
    config: GroupConfig
    state: GroupState
    report: GroupReport
    listing: Listing = field(default_factory=Listing)
    details: Details = field(default_factory=Details)
    decision: Decision = field(default_factory=Decision)

    @property
    def gid(self) -> int:
        return self.config.id

    @property
    def lane(self) -> int:
        """This (group, target)'s key: of the state, and of its commands in shared batch requests."""
        return self.config.lane

    @property
    def master(self) -> Task | None:
        return self.listing.master

    @property
    def target(self) -> Task | None:
        """The task mirrors, the read-back, the checklist and the report go to (the master unless a target)."""
        if self.config.target_task == self.config.master_task:
            return self.listing.master
        return self.listing.target if self.listing.master is not None else None

    @property
    def target_group_id(self) -> int:
        """The group a link to the target is made under: its own (another group's task, for a customer's
        target), the source group's for a target in no group."""
        return self.target.group_id or self.gid

    @target.setter
    def target(self, task: Task) -> None:
        """The target read afresh (a post may have opened its chat): the master, when it is the target."""
        if self.config.target_task == self.config.master_task:
            self.listing.master = task
        else:
            self.listing.target = task

    def all_tasks(self) -> dict[int, Task]:
        merged = dict(self.details.parents)
        merged.update(self.listing.tasks)
        if self.listing.master is not None:
            merged[self.listing.master.id] = self.listing.master
        return merged

    def snap(self, task_id: int) -> dict:
        """What the state remembers of a task ({} when nothing)."""
        return self.state.tasks.get(str(task_id)) or {}

    def __str__(self) -> str:
        return f"{self.config.label}: {self.listing}; {self.details}; {self.decision}"
