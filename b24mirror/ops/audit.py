"""Compare what each master task holds with what it should hold. Reads only.

The audit reads the whole group afresh (no cursors) and asks the same planner the sync uses
which items are eligible, so its idea of "should" cannot drift from the sync's: a task whose
comments cannot be read is left out of the plan, as the sync leaves it out, and is named with
its fix instead. It writes nothing: not to the portal, not to the state file. Every finding
names its fix; `repair` applies the ones it can.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from b24mirror import bitrix
from b24mirror.config.settings import Config, GroupConfig, lane_label
from b24mirror.errors import UsageProblem
from b24mirror.ops.sources import present_with_start, read_sources, resolve_worlds
from b24mirror.policy import rules
from b24mirror.sync.digest import HELD
from b24mirror.sync.listings import pending_in
from b24mirror.policy.checklist import DUPLICATE_ITEM, MISSING_ITEM, STALE_ITEM, audit_checklist
from b24mirror.policy.entries import entry_dates, latest, left_since
from b24mirror.policy.models import (
    ELIGIBLE, KIND_EVENT, KIND_SUBTASK, TALK_KINDS, Comment, Marker, PlannedMirror, Task, parse_date,
    readable_date,
)
from b24mirror.policy.markers import canonical, talk_marker
from b24mirror.ops.mirror_text import spare_digests, text_leaks
from b24mirror.policy.results import REASON_IS_RESULT
from b24mirror.policy.shown import branch_hidden
from b24mirror.policy.plan import (REASON_ALREADY, REASON_BEFORE_BASELINE, GroupSnapshot, entry_from_history,
                                   plan_group, subtree_verdict)
from b24mirror.portal import Portal, q_members, q_task, q_tasks_by_ids, q_users
from b24mirror.state import GroupState, State
from b24mirror.sync.checklist import checklist_items
from b24mirror.sync.decide import QUARANTINE_AFTER, REJECTED, admitted

MISSING, DUPLICATED, LEAKED, ORPHANED = "missing", "duplicated", "leaked", "orphaned"
QUARANTINED, UNREADABLE = "quarantined", "unreadable"
LEFT_SINCE_NOTE = "left since"  # information: a mirror whose source left the project after it was posted
SOURCE_DELETED_NOTE = "source deleted"  # information: on_delete: mark follows it, sync marks the mirror
FINDING_KINDS = (MISSING, DUPLICATED, LEAKED, ORPHANED, QUARANTINED, UNREADABLE, MISSING_ITEM, DUPLICATE_ITEM,
                 STALE_ITEM)
REPAIRABLE = (MISSING, DUPLICATED, LEAKED, QUARANTINED, MISSING_ITEM, DUPLICATE_ITEM, STALE_ITEM)  # the rest: a person


@dataclass(frozen=True)
class AuditFinding:
    kind: str
    marker: Marker | None  # None: a finding about a whole task (UNREADABLE)
    detail: str
    mirror_ids: tuple[int, ...] = ()
    fix: str = ""
    mirror: PlannedMirror | None = field(default=None, compare=False)  # to post (missing), or a leaked text's rewrite
    task_id: int | None = None
    title: str = ""  # checklist findings: what our item should read ("" for one to remove)

    @property
    def subject(self) -> str:
        return str(self.marker) if self.marker is not None else f"task {self.task_id}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "marker": str(self.marker) if self.marker else None, "task": self.task_id,
                "detail": self.detail, "mirror_ids": list(self.mirror_ids), "fix": self.fix}


@dataclass
class GroupAudit:
    group_id: int
    master_task: int
    findings: list[AuditFinding] = field(default_factory=list)
    mirrors: int = 0  # mirrors found in the target (the master, unless a `targets:` entry names another task)
    held: int = 0  # eligible items waiting for the group's digest: sync posts them when it is due, not a finding
    upcoming: int = 0  # eligible items dated after the last sync's listing: the next sync posts them, not a finding
    pending: int = 0  # eligible items of tasks a sync left partly done (max_posts, a deadline): the next sync's
    error: str | None = None
    master: Task | None = None  # as read, for `repair`
    comments: dict[int, list[Comment]] = field(default_factory=dict)  # the sources read, for `repair`
    notes: list[AuditFinding] = field(default_factory=list)  # information: not a fault, nothing to repair
    target_task: int | None = None  # a `targets:` entry's task; None: the master itself
    target_name: str = ""
    target: Task | None = None  # as read, for `repair`: where the mirrors are
    present: dict[Marker, list[int]] = field(default_factory=dict)  # as read, for `repair`: marker -> mirror ids

    @property
    def label(self) -> str:
        return f"{lane_label(self.group_id, self.target_task, self.target_name)} (master {self.master_task})"

    @property
    def mirrors_in(self) -> int:
        return self.target_task or self.master_task

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def clean(self) -> bool:
        return self.error is None and not self.findings

    def add(self, kind: str, marker: Marker | None, detail: str, fix: str, ids=(), **extra) -> None:
        self.findings.append(AuditFinding(kind, marker, detail, tuple(ids), fix, **extra))

    def to_dict(self) -> dict:
        return {
            "group": self.group_id, "master_task": self.master_task, "mirrors": self.mirrors, "error": self.error,
            **({"target": self.target_task, "target_name": self.target_name} if self.target_task else {}),
            "held_for_digest": self.held, "newer_than_last_sync": self.upcoming,
            "pending_for_next_sync": self.pending,
            "counts": {kind: self.count(kind) for kind in FINDING_KINDS},
            "findings": [f.to_dict() for f in self.findings], "notes": [n.to_dict() for n in self.notes],
        }


def select_groups(config: Config, groups: tuple[int, ...]) -> list[GroupConfig]:
    unknown = set(groups) - {g.id for g in config.groups}
    if unknown:
        raise UsageProblem(f"group {', '.join(map(str, sorted(unknown)))} is not in the configuration; fix --group")
    return [g for g in config.groups if not groups or g.id in groups]


def run_audit(config: Config, portal: Portal, state: State | None, groups: tuple[int, ...] = ()) -> list[GroupAudit]:
    known = state.groups() if state is not None else {}
    return [audit_or_fail(group, portal, known.get(group.lane)) for group in select_groups(config, groups)]


def audit_or_fail(group: GroupConfig, portal: Portal, gstate: GroupState | None) -> GroupAudit:
    try:
        return audit_group(group, portal, gstate)
    except (bitrix.BitrixError, AuditError) as exc:
        return GroupAudit(group.id, group.master_task, error=str(exc), **_target_of(group))


class AuditError(Exception):
    pass


def _target_of(group: GroupConfig) -> dict:
    return {"target_task": group.target_task if group.target else None, "target_name": group.target_name}


def audit_group(group: GroupConfig, portal: Portal, gstate: GroupState | None) -> GroupAudit:
    master = portal.one(q_task(group.master_task))
    if master is None:
        raise AuditError(f"master task {group.master_task} does not exist or cannot be seen")
    target = master if group.target_task == master.id else portal.one(q_task(group.target_task))
    if target is None:
        raise AuditError(f"target task {group.target_task} does not exist or cannot be seen")
    present, oldest, texts = present_with_start(portal, target)
    result = GroupAudit(group.id, master.id, mirrors=sum(len(ids) for ids in present.values()), master=master,
                        target=target, present=present, **_target_of(group))
    baseline = parse_date(gstate.baseline) if gstate is not None and gstate.baseline else None
    if baseline is None:
        if oldest is None:
            raise AuditError("never synced (no state for it and no mirrors in the master): nothing to compare yet")
        baseline = oldest  # no state to say when mirroring began: the oldest mirror does
    tasks = {t.id: t for t in portal.all_group_tasks(group.id)}
    # Sources of mirrors that left the group are read too: they are leaks or orphans, not noise.
    strays = sorted({m.task_id for m in present} - set(tasks) - {0})
    if strays:
        for task in portal.one(q_tasks_by_ids(strays)):
            tasks[task.id] = task
    tasks[master.id] = master
    unreadable = resolve_worlds(portal, group, gstate, tasks)
    comments, history, results = read_sources(portal, group, master, tasks, unreadable)
    present = canonical(present, comments)  # a chat message's mirror under the old form is that message's
    result.comments = comments
    authors = sorted({c.author_id for cs in comments.values() for c in cs if c.author_id})
    users = portal.one(q_users(authors)) if authors else {}
    members = portal.one(q_members(group.id))
    # New subtasks are expected to be announced when they were created after mirroring began;
    # one moved in later may be announced too, and is then neither missing nor a leak.
    announce = frozenset(t.id for t in tasks.values() if t.id != master.id
                         and subtree_verdict(t, master, tasks, group.depth) is None
                         and parse_date(t.created_date) >= baseline)
    announce |= frozenset(m.source_id for m in present if m.kind == KIND_SUBTASK and m.source_id in tasks)
    snaps = gstate.tasks if gstate is not None else {}
    entered = entry_dates(tasks, list(tasks.values()), master, group.depth, lambda task: latest(
        (snaps.get(str(task.id)) or {}).get("entered"),
        entry_from_history(task, history.get(task.id, []), master, tasks, group.depth)))
    snapshot = GroupSnapshot(
        group=group, master=master, tasks=tasks, comments=comments, history=history, announce=announce,
        members=members, users=users, own_user_id=portal.own_user_id, baseline=baseline, known=frozenset(), target=target,
        portal_url=portal.portal_url, entered=entered, admitted=admitted(gstate) if gstate is not None else frozenset(),
        results=results,
    )
    plan = plan_group(snapshot)
    for task_id, why in sorted(unreadable.items()):
        result.add(UNREADABLE, None, why[0], why[1], task_id=task_id)
    _judge_missing(result, group, gstate, sorted(plan.mirrors, key=lambda m: m.sort_key), present)
    _judge_present(result, group, plan, present, set(unreadable), snapshot)
    result.findings = spare_digests(result.findings, texts, LEAKED)
    for leak in text_leaks(present, texts, plan, {f.marker for f in result.findings if f.kind == LEAKED},
                           set(unreadable), group, baseline):
        result.add(LEAKED, leak.marker, leak.detail, f"{repair_fix(group.id)} {leak.fix}", leak.ids, mirror=leak.rewrite)
    if group.checklist:
        for problem in audit_checklist(tasks, master, checklist_items(portal, target.id), portal.own_user_id,
                                       rules=group.rules, language=group.language):
            result.add(problem.kind, None, problem.detail, repair_fix(group.id), problem.item_ids,
                       task_id=problem.task_id, title=problem.title)
    return result


def repair_fix(group_id: int) -> str:
    return f"b24mirror repair --group {group_id}"


def _judge_missing(result: GroupAudit, group: GroupConfig, gstate: GroupState | None, mirrors, present) -> None:
    ledger = gstate.ledger if gstate is not None else {}
    refused = gstate.meta.get(REJECTED, {}) if gstate is not None else {}
    held = set(gstate.meta.get(HELD) or ()) if gstate is not None else set()
    last_sync = parse_date(gstate.cursor) if gstate is not None and gstate.cursor else None  # the portal's clock
    # Tasks a run left partly done (held back by max_posts, cut short): the next sync reads them again by id.
    pending = set(pending_in(gstate.meta)) if gstate is not None else set()
    for mirror in mirrors:
        if _is_present(mirror.marker, present):
            continue
        if str(mirror.marker) in held:
            result.held += 1
            continue
        if last_sync is not None and readable_date(mirror.source_date) and parse_date(mirror.source_date) >= last_sync:
            result.upcoming += 1  # no sync has run since it was written: nothing for a person to fix
            continue
        rejection = refused.get(str(mirror.marker)) or {}
        if rejection.get("count", 0) >= QUARANTINE_AFTER:
            result.add(QUARANTINED, mirror.marker,
                       f"the portal refused it {rejection['count']} times: {rejection.get('error', '')}",
                       f"fix the cause, then {repair_fix(group.id)}", mirror=mirror)
        elif str(mirror.marker) not in ledger and mirror.task_id in pending:
            result.pending += 1  # the sync is still working through this task: nothing for a person to fix
        elif str(mirror.marker) in ledger:
            recorded = (ledger[str(mirror.marker)] or {}).get("id")
            result.add(MISSING, mirror.marker,
                       f"deleted from the master (the ledger records mirror {recorded}); sync does not post it again",
                       repair_fix(group.id), mirror=mirror)
        else:
            result.add(MISSING, mirror.marker, "eligible, not in the master", repair_fix(group.id), mirror=mirror)


def _judge_present(result: GroupAudit, group: GroupConfig, plan, present, unreadable: set[int],
                   snapshot: GroupSnapshot) -> None:
    subtask_decisions = {m.source_id: d for m, d in plan.decisions.items() if m.kind == KIND_SUBTASK}
    for marker, ids in sorted(present.items()):
        if marker.kind != KIND_SUBTASK and marker.task_id in unreadable:
            continue  # its source could not be read: named once as the task's finding
        if len(ids) > 1:
            result.add(DUPLICATED, marker, f"{len(ids)} mirrors of one source",
                       f"{repair_fix(group.id)} (keeps mirror {ids[0]}, deletes the others)", ids)
        decision = plan.decisions.get(marker)
        if decision is None and marker.kind == KIND_SUBTASK:
            decision = subtask_decisions.get(marker.source_id)
        if decision is None and group.on_delete == "mark" and marker.kind != KIND_SUBTASK:
            # The group asked sync to follow deletes: its sweep marks this mirror; nothing for a person.
            result.notes.append(AuditFinding(SOURCE_DELETED_NOTE, marker, "its source was deleted",
                                             f"nothing to do: on_delete: {group.on_delete} takes care of it", tuple(ids)))
        elif decision is None:
            result.add(ORPHANED, marker, "its source is gone",
                       f"delete comment {', '.join(map(str, ids))} of task {result.mirrors_in} by hand if it is "
                       f"unwanted (on_delete: {group.on_delete} decides for later deletes)", ids)
        elif left_since(marker, decision, snapshot) and _content_reason(marker, snapshot) is None:
            result.notes.append(AuditFinding(LEFT_SINCE_NOTE, marker, f"posted while eligible; since then: {decision}",
                                             "nothing to do: it stays", tuple(ids)))
        elif decision not in (ELIGIBLE, REASON_ALREADY, REASON_BEFORE_BASELINE, REASON_IS_RESULT):
            # (a comment mirrored before it became the result stays: its result's mirror points back at it)
            reason = _content_reason(marker, snapshot) if left_since(marker, decision, snapshot) else decision
            result.add(LEAKED, marker, f"the rules now exclude it: {reason}",
                       f"{repair_fix(group.id)} (deletes it)", ids)


def _content_reason(marker: Marker, snap: GroupSnapshot) -> str | None:
    """What the content rules (hide, redact, author lists, event kinds) say of a mirror's source now, whoever
    its author is and wherever its task hangs: a source that left the project may still be one they exclude."""
    task = snap.tasks.get(marker.source_id if marker.kind == KIND_SUBTASK else marker.task_id)
    if branch_hidden(task, snap.tasks, snap.group.rules, snap.master.id):
        return rules.REASON_HIDDEN  # its title (or its hidden parent's) heads the mirror
    if marker.kind in TALK_KINDS:
        comment = next((c for c in snap.comments.get(marker.task_id, []) if talk_marker(marker.task_id, c) == marker),
                       None)
        return None if comment is None else rules.comment_verdict(
            comment, members=None, users=snap.users, own_user_id=snap.own_user_id, rules=snap.group.rules)
    if marker.kind == KIND_EVENT:
        event = next((e for e in snap.history.get(marker.task_id, []) if e.id == marker.source_id), None)
        return None if event is None else rules.event_verdict(event, rules=snap.group.rules)
    return None


def _is_present(marker: Marker, present: dict[Marker, list[int]]) -> bool:
    if marker in present:
        return True
    return marker.kind == KIND_SUBTASK and any(m.kind == KIND_SUBTASK and m.source_id == marker.source_id for m in present)
