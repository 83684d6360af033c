"""`repair`: make each master hold what `audit` says it should, with the sync's own exactly-once rules.

It reads each group as `audit` does, then deletes what must go (duplicates beyond the first,
leaks the rules now exclude) and posts what is missing (a mirror a person deleted included,
and quarantined ones, retried), oldest first. Only our own user's comments carrying exactly
one marker are ever deleted: `audit` finds nothing else, so a person's comment that quotes a
marker is never touched. Posts go through the sync's own path (sync/apply.py): every post is
recorded before the next request, and a lost answer is settled by reading the master back.
A delete is safe to repeat; whether a comment is gone is read back from the master, never
taken from an answer. Afterwards each repaired group is audited again: that, not the answers,
says whether the master is clean.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from b24mirror.ops.rows import finding_rows
from b24mirror.policy.words import plural
from b24mirror import bitrix
from b24mirror.ops.audit import (
    DUPLICATED,
    LEAKED,
    MISSING,
    QUARANTINED,
    REPAIRABLE,
    AuditFinding,
    GroupAudit,
    audit_or_fail,
    select_groups,
)
from b24mirror.ops.repair_ledger import follow_present, settle_ledger
from b24mirror.ops.sources import present_mirrors
from b24mirror.policy.checklist import DUPLICATE_ITEM, MISSING_ITEM, STALE_ITEM
from b24mirror.policy.models import Marker, PlannedMirror, parse_date
from b24mirror.portal import Portal
from b24mirror.config.settings import Config, GroupConfig
from b24mirror.state import GroupState, State
from b24mirror.stopping import Stopped
from b24mirror.sync.apply import post_all
from b24mirror.sync.common import Context, describe, guarded
from b24mirror.sync.decide import rejections
from b24mirror.sync.records import GroupReport, GroupRun, SyncOptions

POST, DELETE, REWRITE = "post", "delete", "rewrite"


@dataclass
class RepairAction:
    action: str  # POST, DELETE or REWRITE
    marker: Marker
    reason: str  # the audit finding it fixes
    comment_id: int | None = None  # the comment to delete or rewrite, or the mirror posted
    done: bool = False
    error: str | None = None
    mirror: PlannedMirror | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"action": self.action, "marker": str(self.marker), "reason": self.reason,
                "comment_id": self.comment_id, "done": self.done, "error": self.error,
                "text": self.mirror.text if self.mirror is not None else None}


@dataclass
class GroupRepair:
    group: GroupConfig
    audit: GroupAudit
    actions: list[RepairAction] = field(default_factory=list)
    left: list[AuditFinding] = field(default_factory=list)  # findings still standing (after a real repair)
    error: str | None = None
    checklist: list[AuditFinding] = field(default_factory=list)  # checklist findings this repair fixes
    checklist_errors: list[str] = field(default_factory=list)

    @property
    def group_id(self) -> int:
        return self.group.id

    @property
    def clean(self) -> bool:
        return self.error is None and not self.left

    def of(self, action: str) -> list[RepairAction]:
        return [a for a in self.actions if a.action == action]

    def to_dict(self) -> dict:
        return {"group": self.group_id, "master_task": self.audit.master_task, "clean": self.clean,
                **({"target": self.audit.target_task, "target_name": self.audit.target_name}
                   if self.audit.target_task else {}),
                "error": self.error, "actions": [a.to_dict() for a in self.actions],
                "checklist": [f.to_dict() for f in self.checklist], "checklist_errors": self.checklist_errors,
                "left": [f.to_dict() for f in self.left]}


def run_repair(config: Config, portal: Portal, state: State, groups: tuple[int, ...] = (), *,
               dry_run: bool = False, progress: Callable[[str, int, int], None] | None = None) -> list[GroupRepair]:
    known = state.groups()
    repairs = [plan_repair(group, audit_or_fail(group, portal, known.get(group.lane)))
               for group in select_groups(config, groups)]
    if dry_run:
        return repairs
    if any([follow_present(state.group(r.group.lane), r.audit.present) for r in repairs]):  # each one, no short cut
        state.save()
    todo = [r for r in repairs if r.actions or r.checklist]
    for repair in todo:
        _rewrite(portal, repair)
        if _delete(portal, state.group(repair.group.lane), repair):
            state.save()
    _post(config, portal, state, [r for r in todo if r.of(POST)], progress)
    for repair in todo:
        if repair.checklist:
            _fix_checklist(portal, state.group(repair.group.lane), repair)
            state.save()
    for repair in todo:  # the master itself says whether it is clean now
        after = audit_or_fail(repair.group, portal, state.groups().get(repair.group.lane))
        repair.error, repair.left = after.error, after.findings
    return repairs


def plan_repair(group: GroupConfig, audit: GroupAudit) -> GroupRepair:
    """The actions that fix an audit's findings; the findings no action fixes are left, with their fix."""
    repair = GroupRepair(group, audit, error=audit.error)
    deletes: dict[int, RepairAction] = {}
    for finding in audit.findings:
        if finding.kind in (MISSING, QUARANTINED):
            repair.actions.append(RepairAction(POST, finding.marker, finding.kind, mirror=finding.mirror))
        elif finding.kind == DUPLICATED:
            for comment_id in finding.mirror_ids[1:]:  # the first one stays
                deletes.setdefault(comment_id, RepairAction(DELETE, finding.marker, DUPLICATED, comment_id))
        elif finding.kind == LEAKED and finding.mirror is not None:  # its text, rewritten as sync would post it now
            repair.actions.append(RepairAction(REWRITE, finding.marker, LEAKED, finding.mirror_ids[0],
                                               mirror=finding.mirror))
        elif finding.kind == LEAKED:
            for comment_id in finding.mirror_ids:  # a leak goes whole, duplicates and all
                deletes[comment_id] = RepairAction(DELETE, finding.marker, LEAKED, comment_id)
        if finding.kind not in REPAIRABLE:
            repair.left.append(finding)
    repair.actions[:0] = sorted(deletes.values(), key=lambda a: a.comment_id)
    repair.checklist = [f for f in audit.findings if f.kind in (MISSING_ITEM, DUPLICATE_ITEM, STALE_ITEM)]
    return repair


def _fix_checklist(portal: Portal, gstate: GroupState, repair: GroupRepair) -> None:
    """Our checklist items as audit wants them: add the missing, delete our extra ones, retitle or remove the
    stale. People's items are never touched (audit judges only ours). The state's map follows each write."""
    master, call = repair.audit.mirrors_in, portal.client.call
    mapped = gstate.meta.setdefault("checklist", {})
    for finding in repair.checklist:
        key = str(finding.task_id)
        try:
            if finding.kind == MISSING_ITEM:
                result = call("task.checklistitem.add", {"0": master, "1": {"TITLE": finding.title}}, write=True)
                mapped[key] = {"item": int(result.result), "title": finding.title, "done": False}
            elif finding.kind == DUPLICATE_ITEM or (finding.kind == STALE_ITEM and not finding.title):
                for item_id in finding.mirror_ids:
                    call("task.checklistitem.delete", {"0": master, "1": item_id}, write=True)
                if finding.kind == STALE_ITEM:
                    mapped.pop(key, None)
            else:
                item_id = finding.mirror_ids[0]
                call("task.checklistitem.update", {"0": master, "1": item_id, "2": {"TITLE": finding.title}},
                     write=True)
                mapped.setdefault(key, {"item": item_id, "done": False})["title"] = finding.title
        except bitrix.BitrixError as exc:  # a lost answer is settled by the audit that follows: never twice
            repair.checklist_errors.append(f"{finding.kind} for subtask #{finding.task_id}: {describe(exc)}")


def _rewrite(portal: Portal, repair: GroupRepair) -> None:
    """Rewrite the mirrors whose text a content rule now covers. The same text again is harmless, so a lost
    answer needs no reading back here: the audit that follows says whether the master is clean."""
    for action in repair.of(REWRITE):
        try:
            portal.update_comment(repair.audit.target, action.comment_id, action.mirror.text)
            action.done = True
        except bitrix.AuthError:
            raise
        except bitrix.BitrixError as exc:
            action.error = describe(exc)


def _delete(portal: Portal, gstate: GroupState, repair: GroupRepair) -> bool:
    """Delete the group's duplicates and leaks; True when the ledger changed."""
    actions = repair.of(DELETE)
    if not actions:
        return False
    master = repair.audit.target  # where the mirrors are
    for action in actions:
        try:
            portal.delete_comment(master, action.comment_id)
        except bitrix.AuthError:
            raise
        except bitrix.BitrixError as exc:  # perhaps gone already, perhaps done with its answer lost: read back
            action.error = describe(exc)
    try:
        standing = present_mirrors(portal, master)
    except bitrix.BitrixError as exc:
        repair.error = f"could not read master {master.id} back after deleting: {describe(exc)}"
        return False
    still = {comment_id for ids in standing.values() for comment_id in ids}
    for action in actions:
        action.done = action.comment_id not in still
        action.error = None if action.done else (action.error or "still in the master")
    return settle_ledger(gstate, {a.marker for a in actions if a.done}, standing)


def _post(config: Config, portal: Portal, state: State, repairs: list[GroupRepair], progress) -> None:
    """Post every group's missing mirrors through the sync's own path, then say which landed."""
    if not repairs:
        return
    ctx = Context(config, portal, state, SyncOptions(groups=tuple(r.group_id for r in repairs)),
                  progress or (lambda lane, done, total: None))
    runs, forgotten = [], {}
    for repair in repairs:
        run = GroupRun(config=repair.group, state=state.group(repair.group.lane),
                       report=GroupReport(repair.group_id, lane=repair.group.lane))
        run.listing.master, run.listing.target = repair.audit.master, repair.audit.target
        # A reposted mirror carries the group's baseline like any other, or a lost state would resume from 1970.
        run.listing.baseline = parse_date(run.state.baseline) if run.state.baseline else None
        run.details.comments = repair.audit.comments
        run.decision.todo = [a.mirror for a in repair.of(POST)]
        for action in repair.of(POST):
            # A mirror a person deleted is still in the ledger with its old id: without the entry, a lost
            # answer is settled by the read-back (which records what it finds) and the new id is recorded.
            old = run.state.ledger.pop(str(action.marker), None)
            if old is not None:
                forgotten[(run.lane, str(action.marker))] = old
        runs.append(run)
    try:
        guarded(runs, lambda rs: post_all(ctx, rs))
    except Stopped as stop:  # said on stopping: the reposts that landed, each recorded before the stop
        stop.posted = sum(sum(run.report.posted.values()) for run in runs)
        raise
    for repair, run in zip(repairs, runs):
        refused = rejections(run)
        for action in repair.of(POST):
            entry = run.state.ledger.get(str(action.marker))
            action.done = entry is not None
            if action.done:
                action.comment_id = entry.get("id")
                refused.pop(str(action.marker), None)  # posted at last: no longer quarantined
            else:
                action.error = run.report.error or "not posted"
                old = forgotten.get((run.lane, str(action.marker)))
                if old is not None:  # not posted: the ledger says what it said before
                    run.state.ledger[str(action.marker)] = old
    state.save()


def render_repair(repairs: list[GroupRepair], *, dry_run: bool) -> str:
    lines = []
    for repair in repairs:
        head = repair.audit.label
        if repair.error and not repair.actions:
            lines.append(f"{head}: FAILED: {repair.error}")
            continue
        verdict = ("would be clean" if repair.clean else "would not be clean") if dry_run else (
            "clean" if repair.clean else "NOT clean")
        lines.append(f"{head}: {plural(len(repair.actions) + len(repair.checklist), 'action')}; {verdict}")
        for f in repair.checklist:
            verb = "would fix" if dry_run else "fixed"
            lines.append(f"  {verb:<16} {f.kind} for subtask #{f.task_id}: {f.detail}")
        for error in repair.checklist_errors:
            lines.append(f"  FAILED           {error}")
        for a in repair.actions:
            verb = f"would {a.action}" if dry_run else (a.action if a.done else f"FAILED to {a.action}")
            target = f" comment {a.comment_id}" if a.comment_id else ""
            why = f": {a.error}" if a.error and not dry_run else ""
            lines.append(f"  {verb:<16} {a.marker}{target} ({a.reason}){why}")
            if dry_run and a.mirror is not None:  # the text it would post, as sync --dry-run shows it
                lines.extend(f"  {'':<16} | {line}" for line in a.mirror.text.split("\n"))
        if repair.error:
            lines.append(f"  error: {repair.error}")
        for kind, subject, detail, fix in finding_rows(repair.left):
            lines.append(f"  left {kind:<11} {subject}: {detail}; fix: {fix}")
    return "\n".join(lines)
