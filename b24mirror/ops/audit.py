"""Compare what each master task holds with what it should hold. Reads only.

The audit reads the whole group afresh (no cursors) and asks the same planner the sync uses
which items are eligible, so its idea of "should" cannot drift from the sync's: a task whose
comments cannot be read is left out of the plan, as the sync leaves it out, and is named with
its fix instead. It writes nothing: not to the portal, not to the state file. Every finding
names its fix; `repair` applies the ones it can.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from b24mirror import bitrix
from b24mirror.policy.checklist import DUPLICATE_ITEM, MISSING_ITEM, STALE_ITEM, audit_checklist
from b24mirror.policy.digest import trusted_in
from b24mirror.errors import UsageProblem
from b24mirror.policy.models import (
    ELIGIBLE,
    KIND_SUBTASK,
    WORLD_CHAT,
    WORLD_CLASSIC,
    Comment,
    Marker,
    PlannedMirror,
    Task,
    parse_date,
    readable_date,
)
from b24mirror.policy.results import REASON_IS_RESULT
from b24mirror.policy.plan import REASON_ALREADY, REASON_BEFORE_BASELINE, GroupSnapshot, plan_group, subtree_verdict
from b24mirror.portal import (
    PAGE,
    Portal,
    q_chat_messages,
    q_classic_comments,
    q_history,
    q_members,
    q_results,
    q_task,
    q_task_chat_id,
    q_tasks_by_ids,
    q_users,
    reading_world,
)
from b24mirror.config.settings import Config, GroupConfig
from b24mirror.state import GroupState, State
from b24mirror.sync.decide import QUARANTINE_AFTER, REJECTED
from b24mirror.sync.checklist import checklist_items
from b24mirror.sync.masters import baselines_in
from b24mirror.sync.worlds import LISTS_CARRY_CHAT_ID

MISSING, DUPLICATED, LEAKED, ORPHANED = "missing", "duplicated", "leaked", "orphaned"
QUARANTINED, UNREADABLE = "quarantined", "unreadable"
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
    mirror: PlannedMirror | None = field(default=None, compare=False)  # what to post, for MISSING/QUARANTINED
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
    mirrors: int = 0  # mirrors found in the master
    error: str | None = None
    master: Task | None = None  # as read, for `repair`
    comments: dict[int, list[Comment]] = field(default_factory=dict)  # the sources read, for `repair`

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
            "counts": {kind: self.count(kind) for kind in FINDING_KINDS},
            "findings": [f.to_dict() for f in self.findings],
        }


def select_groups(config: Config, groups: tuple[int, ...]) -> list[GroupConfig]:
    unknown = set(groups) - {g.id for g in config.groups}
    if unknown:
        raise UsageProblem(f"group {', '.join(map(str, sorted(unknown)))} is not in the configuration; fix --group")
    return [g for g in config.groups if not groups or g.id in groups]


def run_audit(config: Config, portal: Portal, state: State | None, groups: tuple[int, ...] = ()) -> list[GroupAudit]:
    known = state.groups() if state is not None else {}
    return [audit_or_fail(group, portal, known.get(group.id)) for group in select_groups(config, groups)]


def audit_or_fail(group: GroupConfig, portal: Portal, gstate: GroupState | None) -> GroupAudit:
    try:
        return audit_group(group, portal, gstate)
    except (bitrix.BitrixError, AuditError) as exc:
        return GroupAudit(group.id, group.master_task, error=str(exc))


class AuditError(Exception):
    pass


def audit_group(group: GroupConfig, portal: Portal, gstate: GroupState | None) -> GroupAudit:
    master = portal.one(q_task(group.master_task))
    if master is None:
        raise AuditError(f"master task {group.master_task} does not exist or cannot be seen")
    present, oldest = _present_mirrors(portal, master)
    result = GroupAudit(group.id, master.id, mirrors=sum(len(ids) for ids in present.values()), master=master)
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
    unreadable = _resolve_worlds(portal, group, gstate, tasks)
    comments, history, results = _read_sources(portal, group, master, tasks, unreadable)
    result.comments = comments
    users = {}
    authors = sorted({c.author_id for cs in comments.values() for c in cs if c.author_id})
    if authors:
        users = portal.one(q_users(authors))
    members = portal.one(q_members(group.id))
    # New subtasks are expected to be announced when they were created after mirroring began;
    # one moved in later may be announced too, and is then neither missing nor a leak.
    announce = frozenset(t.id for t in tasks.values() if t.id != master.id
                         and subtree_verdict(t, master, tasks, group.depth) is None
                         and parse_date(t.created_date) >= baseline)
    announce |= frozenset(m.source_id for m in present if m.kind == KIND_SUBTASK and m.source_id in tasks)
    plan = plan_group(GroupSnapshot(
        group=group, master=master, tasks=tasks, comments=comments, history=history, announce=announce,
        members=members, users=users, own_user_id=portal.own_user_id, baseline=baseline, known=frozenset(),
        portal_url=portal.portal_url, results=results,
    ))
    for task_id, why in sorted(unreadable.items()):
        result.add(UNREADABLE, None, why[0], why[1], task_id=task_id)
    _judge_missing(result, group, gstate, sorted(plan.mirrors, key=lambda m: m.sort_key), present)
    _judge_present(result, group, plan, present, set(unreadable))
    if group.checklist:
        for problem in audit_checklist(tasks, master, checklist_items(portal, master.id), portal.own_user_id,
                                       rules=group.rules, language=group.language):
            result.add(problem.kind, None, problem.detail, repair_fix(group.id), problem.item_ids,
                       task_id=problem.task_id, title=problem.title)
    return result


def repair_fix(group_id: int) -> str:
    return f"b24mirror repair --group {group_id}"


def _judge_missing(result: GroupAudit, group: GroupConfig, gstate: GroupState | None, mirrors, present) -> None:
    ledger = gstate.ledger if gstate is not None else {}
    refused = gstate.meta.get(REJECTED, {}) if gstate is not None else {}
    for mirror in mirrors:
        if _is_present(mirror.marker, present):
            continue
        rejection = refused.get(str(mirror.marker)) or {}
        if rejection.get("count", 0) >= QUARANTINE_AFTER:
            result.add(QUARANTINED, mirror.marker,
                       f"the portal refused it {rejection['count']} times: {rejection.get('error', '')}",
                       f"fix the cause, then {repair_fix(group.id)}", mirror=mirror)
        elif str(mirror.marker) in ledger:
            recorded = (ledger[str(mirror.marker)] or {}).get("id")
            result.add(MISSING, mirror.marker,
                       f"deleted from the master (the ledger records mirror {recorded}); sync does not post it again",
                       repair_fix(group.id), mirror=mirror)
        else:
            result.add(MISSING, mirror.marker, "eligible, not in the master", repair_fix(group.id), mirror=mirror)


def _judge_present(result: GroupAudit, group: GroupConfig, plan, present, unreadable: set[int]) -> None:
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
        if decision is None:
            result.add(ORPHANED, marker, "its source is gone",
                       f"delete comment {', '.join(map(str, ids))} of task {result.master_task} by hand if it is "
                       f"unwanted (on_delete: {group.on_delete} decides for later deletes)", ids)
        # A comment mirrored before it became the result stays: its result's mirror points back at it.
        elif decision not in (ELIGIBLE, REASON_ALREADY, REASON_BEFORE_BASELINE, REASON_IS_RESULT):
            result.add(LEAKED, marker, f"the rules now exclude it: {decision}",
                       f"{repair_fix(group.id)} (deletes it)", ids)


def _is_present(marker: Marker, present: dict[Marker, list[int]]) -> bool:
    if marker in present:
        return True
    return marker.kind == KIND_SUBTASK and any(m.kind == KIND_SUBTASK and m.source_id == marker.source_id for m in present)


def present_mirrors(portal: Portal, master: Task) -> dict[Marker, list[int]]:
    """Mirrors in the master: marker -> ids of our own user's comments carrying exactly that one marker."""
    return _present_mirrors(portal, master)[0]


def _present_mirrors(portal: Portal, master: Task):
    """Mirrors in the master (marker -> comment ids, oldest first; a digest stands for each of its items),
    and when mirroring began: the baseline the markers carry (`~since=`), else the oldest mirror's date."""
    found: dict[Marker, list[int]] = {}
    oldest, recorded = None, []
    for comment in sorted(portal.master_comments(master, 0), key=lambda c: c.id):
        markers = trusted_in(comment, portal.own_user_id)
        for marker in markers:
            found.setdefault(marker, []).append(comment.id)
        if markers:
            recorded.extend(baselines_in(comment.text))
            if readable_date(comment.date):
                date = parse_date(comment.date)
                oldest = date if oldest is None or date < oldest else oldest
    if recorded:
        return found, datetime.fromtimestamp(min(recorded), tz=timezone.utc)
    return found, oldest


def _resolve_worlds(portal: Portal, group: GroupConfig, gstate: GroupState | None,
                    tasks: dict[int, Task]) -> dict[int, tuple[str, str]]:
    """Give tasks listed without a chat id the one they have, as the sync does (sync/worlds.py): the
    task's snapshot remembers it, or tasks.task.get says. Returns the tasks whose world cannot be told."""
    if group.comments_source == "classic":
        return {}
    snaps = gstate.tasks if gstate is not None else {}
    lists_say = bool(gstate is not None and gstate.meta.get(LISTS_CARRY_CHAT_ID)) or any(
        t.chat_id for t in tasks.values() if t.id != group.master_task)  # the master was read by tasks.task.get
    ask = {}
    for task_id, task in tasks.items():
        if task.chat_id or task_id == group.master_task:
            continue
        snap = snaps.get(str(task_id)) or {}
        if isinstance(snap.get("chat"), int) and snap["chat"]:
            tasks[task_id] = replace(task, chat_id=snap["chat"])
        elif group.comments_source == "auto" and (snap.get("world") == WORLD_CLASSIC or lists_say):
            continue
        else:
            ask[task_id] = q_task_chat_id(task_id)
    unreadable = {}
    for task_id, chat_id in portal.run(ask).items():
        if isinstance(chat_id, bitrix.BitrixError):
            unreadable[task_id] = (f"could not tell whether its comments are in a chat ({chat_id})",
                                   "run the audit again; if it persists, b24mirror check names the cause")
        elif chat_id:
            tasks[task_id] = replace(tasks[task_id], chat_id=chat_id)
        elif group.comments_source == "chat":
            unreadable[task_id] = (f"no task chat found for it (comments: chat is set for group {group.id})",
                                   f"if it is a classic task set comments: auto, else add user "
                                   f"{portal.own_user_id} to task {task_id}")
    return unreadable


def _read_sources(portal: Portal, group: GroupConfig, master: Task, tasks: dict[int, Task], unreadable: dict):
    """Every comment and history row of every task that matters: the subtree, and mirrored strays.

    A task whose reads fail is left out whole (as the sync leaves it unread) and added to `unreadable`."""
    wanted = [t for t in tasks.values() if t.id != master.id and t.id not in unreadable]
    queries = {}
    for task in wanted:
        queries[("history", task.id)] = q_history(task.id)
        queries[("results", task.id)] = q_results(task.id)
        if reading_world(group.comments_source, task) == WORLD_CHAT:
            queries[("talk", task.id)] = q_chat_messages(task.id, task.chat_id)
        else:
            queries[("talk", task.id)] = q_classic_comments(task.id)
    answers = portal.run(queries)
    comments: dict[int, list[Comment]] = {}
    history, results = {}, {}
    for task in wanted:
        rows, talk, outcomes = answers[("history", task.id)], answers[("talk", task.id)], answers[("results", task.id)]
        failed = next((a for a in (talk, rows, outcomes) if isinstance(a, bitrix.BitrixError)), None)
        if failed is not None:
            unreadable[task.id] = _unreadable(portal, group, task, failed)
            continue
        history[task.id] = rows
        results[task.id] = outcomes
        comments[task.id] = _whole_chat(portal, task, talk) if reading_world(
            group.comments_source, task) == WORLD_CHAT else talk
    return comments, history, results


def _unreadable(portal: Portal, group: GroupConfig, task: Task, error: bitrix.BitrixError) -> tuple[str, str]:
    me = portal.own_user_id
    if isinstance(error, bitrix.PermissionDenied) and reading_world(group.comments_source, task) == WORLD_CHAT:
        return (f"user {me} is not a participant of its chat: its comments cannot be read or compared",
                f"add user {me} as an observer of task {task.id}, or set auto_observe: true for group {group.id}")
    return f"could not be read ({error})", "run the audit again; if it persists, b24mirror check names the cause"


def _whole_chat(portal: Portal, task: Task, page) -> list[Comment]:
    messages = list(page.messages)
    while page.raw_count >= PAGE and page.messages:
        page = portal.one(q_chat_messages(task.id, task.chat_id, last_id=min(m.id for m in page.messages)))
        messages.extend(page.messages)
    return sorted({m.id: m for m in messages}.values(), key=lambda m: m.id)


def render_audit(audits: list[GroupAudit]) -> str:
    lines = []
    for audit in audits:
        if audit.error:
            lines.append(f"group {audit.group_id} (master {audit.master_task}): FAILED: {audit.error}")
            continue
        counts = ", ".join(f"{audit.count(k)} {k}" for k in FINDING_KINDS)
        lines.append(f"group {audit.group_id} (master {audit.master_task}): {audit.mirrors} mirrors; {counts}")
        if audit.findings:
            width = max(len(f.subject) for f in audit.findings)
            lines.append(f"  {'finding':<11}  {'marker':<{width}}  detail")
            for f in audit.findings:
                ids = f" (mirror {', '.join(map(str, f.mirror_ids))})" if f.mirror_ids else ""
                lines.append(f"  {f.kind:<11}  {f.subject:<{width}}  {f.detail}{ids}")
                lines.append(f"  {'':<11}  {'':<{width}}  fix: {f.fix}")
    return "\n".join(lines)
