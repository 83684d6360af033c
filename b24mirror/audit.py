"""Compare what each master task holds with what it should hold. Reads only.

The audit reads the whole group afresh (no cursors, no snapshots) and asks the same
planner the sync uses which items are eligible, so its idea of "should" cannot drift from
the sync's. It writes nothing: not to the portal, not to the state file.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from b24mirror import bitrix
from b24mirror.errors import UsageProblem
from b24mirror.models import (
    ELIGIBLE,
    KIND_SUBTASK,
    WORLD_CHAT,
    Comment,
    Marker,
    Task,
    parse_date,
)
from b24mirror.plan import REASON_ALREADY, REASON_BEFORE_BASELINE, GroupSnapshot, plan_group, subtree_verdict
from b24mirror.portal import (
    PAGE,
    Portal,
    q_chat_messages,
    q_classic_comments,
    q_history,
    q_members,
    q_task,
    q_tasks_by_ids,
    q_users,
    reading_world,
)
from b24mirror.settings import Config, GroupConfig
from b24mirror.state import State

MISSING, DUPLICATED, LEAKED, ORPHANED = "missing", "duplicated", "leaked", "orphaned"
FINDING_KINDS = (MISSING, DUPLICATED, LEAKED, ORPHANED)


@dataclass(frozen=True)
class AuditFinding:
    kind: str
    marker: Marker
    detail: str
    mirror_ids: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "marker": str(self.marker), "detail": self.detail, "mirror_ids": list(self.mirror_ids)}


@dataclass
class GroupAudit:
    group_id: int
    master_task: int
    findings: list[AuditFinding] = field(default_factory=list)
    mirrors: int = 0  # mirrors found in the master
    error: str | None = None

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def clean(self) -> bool:
        return self.error is None and not self.findings

    def to_dict(self) -> dict:
        return {
            "group": self.group_id, "master_task": self.master_task, "mirrors": self.mirrors, "error": self.error,
            "counts": {kind: self.count(kind) for kind in FINDING_KINDS},
            "findings": [f.to_dict() for f in self.findings],
        }


def run_audit(config: Config, portal: Portal, state: State | None, groups: tuple[int, ...] = ()) -> list[GroupAudit]:
    known = {g.id for g in config.groups}
    unknown = set(groups) - known
    if unknown:
        raise UsageProblem(f"group {', '.join(map(str, sorted(unknown)))} is not in the configuration; fix --group")
    results = []
    for group in config.groups:
        if groups and group.id not in groups:
            continue
        baseline = None
        if state is not None and group.id in state.groups():
            recorded = state.groups()[group.id].baseline
            baseline = parse_date(recorded) if recorded else None
        try:
            results.append(audit_group(group, portal, baseline))
        except (bitrix.BitrixError, AuditError) as exc:
            results.append(GroupAudit(group.id, group.master_task, error=str(exc)))
    return results


class AuditError(Exception):
    pass


def audit_group(group: GroupConfig, portal: Portal, baseline) -> GroupAudit:
    master = portal.one(q_task(group.master_task))
    if master is None:
        raise AuditError(f"master task {group.master_task} does not exist or cannot be seen")
    present, oldest = _present_mirrors(portal, master)
    result = GroupAudit(group.id, master.id, mirrors=sum(len(ids) for ids in present.values()))
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
    comments, history = _read_sources(portal, group, master, tasks, present)
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
        portal_url=portal.portal_url,
    ))
    subtask_decisions = {m.source_id: (m, d) for m, d in plan.decisions.items() if m.kind == KIND_SUBTASK}
    for mirror in plan.mirrors:
        if not _is_present(mirror.marker, present):
            result.findings.append(AuditFinding(MISSING, mirror.marker, "eligible, not in the master"))
    for marker, ids in sorted(present.items()):
        if len(ids) > 1:
            result.findings.append(AuditFinding(DUPLICATED, marker, f"{len(ids)} mirrors of one source", tuple(ids)))
        decision = plan.decisions.get(marker)
        if decision is None and marker.kind == KIND_SUBTASK and marker.source_id in subtask_decisions:
            decision = subtask_decisions[marker.source_id][1]
        if decision is None:
            result.findings.append(AuditFinding(ORPHANED, marker, "its source is gone", tuple(ids)))
        elif decision not in (ELIGIBLE, REASON_ALREADY, REASON_BEFORE_BASELINE):
            result.findings.append(AuditFinding(LEAKED, marker, f"the rules now exclude it: {decision}", tuple(ids)))
    return result


def _is_present(marker: Marker, present: dict[Marker, list[int]]) -> bool:
    if marker in present:
        return True
    return marker.kind == KIND_SUBTASK and any(m.kind == KIND_SUBTASK and m.source_id == marker.source_id for m in present)


def _present_mirrors(portal: Portal, master: Task):
    """Mirrors in the master (marker -> comment ids), and the date of the oldest."""
    found: dict[Marker, list[int]] = {}
    oldest = None
    for comment in portal.master_comments(master, 0):
        if comment.author_id == portal.own_user_id and len(comment.markers) == 1:
            found.setdefault(comment.markers[0], []).append(comment.id)
            date = parse_date(comment.date)
            oldest = date if oldest is None or date < oldest else oldest
    return found, oldest


def _read_sources(portal: Portal, group: GroupConfig, master: Task, tasks: dict[int, Task], present):
    """Every comment and history row of every task that matters: the subtree, and mirrored strays."""
    wanted = [t for t in tasks.values() if t.id != master.id]
    queries = {}
    for task in wanted:
        queries[("history", task.id)] = q_history(task.id)
        if reading_world(group.comments_source, task) == WORLD_CHAT:
            queries[("chat", task.id)] = q_chat_messages(task.id, task.chat_id)
        else:
            queries[("comments", task.id)] = q_classic_comments(task.id)
    answers = portal.run(queries)
    comments: dict[int, list[Comment]] = {}
    history = {}
    for task in wanted:
        rows = answers[("history", task.id)]
        history[task.id] = [] if isinstance(rows, bitrix.BitrixError) else rows
        if ("chat", task.id) in answers:
            page = answers[("chat", task.id)]
            comments[task.id] = [] if isinstance(page, bitrix.BitrixError) else _whole_chat(portal, task, page)
        else:
            rows = answers[("comments", task.id)]
            comments[task.id] = [] if isinstance(rows, bitrix.BitrixError) else rows
    return comments, history


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
            width = max(len(str(f.marker)) for f in audit.findings)
            lines.append(f"  {'finding':<10}  {'marker':<{width}}  detail")
            for f in audit.findings:
                ids = f" (mirror {', '.join(map(str, f.mirror_ids))})" if f.mirror_ids else ""
                lines.append(f"  {f.kind:<10}  {str(f.marker):<{width}}  {f.detail}{ids}")
    return "\n".join(lines)
