"""Phase 5, edits: with `on_edit`/`on_delete` set, rewrite the mirrors whose source changed; always,
rewrite the mirrors of results that changed or were removed.

Which mirrors and with what text is decided in edits.py and results.py (pure); this phase only
writes them, recording each source hash as soon as its update is made.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.edits import PlannedUpdate, plan_updates
from b24mirror.policy.plan import comment_reason, people
from b24mirror.policy.results import plan_result_updates
from b24mirror.stopping import write_in_flight
from b24mirror.sync.common import Context, describe, source_hashes
from b24mirror.sync.masters import in_forum_of_switched_master
from b24mirror.sync.records import GroupRun


def apply_edits(ctx: Context, run: GroupRun) -> None:
    details = run.details
    for task_id in sorted(set(details.revisited) | set(details.comments)):
        if task_id not in details.read_ok:
            continue
        # By world and id: a switched task's forum comment and chat message may share an id.
        messages = {(m.world, m.id): m for m in details.revisited.get(task_id, []) + details.comments.get(task_id, [])}
        updates = plan_updates(
            run.config, run.master, run.listing.tasks[task_id], messages.values(), target=run.target,
            ledger=run.state.ledger,
            hashes=source_hashes(run), users=details.users, portal_url=ctx.portal.portal_url,
            members=details.members, tasks=run.all_tasks(), own_user_id=ctx.me, shown=run.decision.shown,
            forums=details.forums,
        )
        write_updates(ctx, run, updates)


def apply_result_edits(ctx: Context, run: GroupRun) -> None:
    """The mirrors of results changed or removed since they were posted, for the subtasks read whole."""
    details, tasks = run.details, run.all_tasks()
    flavour = "chat" if run.target.world == "chat" else "forum"
    names = {uid: user.name for uid, user in people(details.users, tasks).items()}
    for task_id in sorted(details.results):
        if task_id not in details.read_ok or task_id in details.incomplete:
            continue
        task = tasks[task_id]

        def judge(comment, task=task):
            return comment_reason(comment, task, group=run.config, master=run.master, tasks=tasks,
                                  members=details.members, users=details.users, own_user_id=ctx.me)

        write_updates(ctx, run, plan_result_updates(
            task, details.results[task_id], ledger=_results_of(run, task_id), hashes=source_hashes(run), judge=judge,
            names=names, portal_url=ctx.portal.portal_url, group=run.config, flavour=flavour))


def _results_of(run: GroupRun, task_id: int) -> dict:
    """The ledger's result mirrors of one task, looked up by task: a sweep never walks the whole history."""
    ledger = run.state.ledger
    return {key: ledger[key] for key in ledger.markers_of(task_id, "result")}


def write_updates(ctx: Context, run: GroupRun, updates: list[PlannedUpdate]) -> None:
    for update in updates:
        if not update.write:
            source_hashes(run)[str(update.marker)] = update.source_hash
            continue
        if in_forum_of_switched_master(run, update.marker):
            # task.commentitem.update does not work on the new card, and a chat method given a forum id
            # could rewrite another message: said once, and left as it is.
            where = "master" if run.target is run.master else "target task"
            run.report.warnings.append(f"{update.marker}: its mirror {update.mirror_id} is in the forum of "
                                       f"{where} {run.target.id}, which moved to the new card; left as it is")
            source_hashes(run)[str(update.marker)] = update.source_hash
            continue
        try:
            with write_in_flight():
                ctx.portal.update_comment(run.target, update.mirror_id, update.text)
        except bitrix.OutcomeUnknown:
            continue  # an update is the same text again: the next run may simply repeat it
        except bitrix.BitrixError as exc:
            if isinstance(exc, (bitrix.AuthError, bitrix.ScopeError)):
                raise
            # Refused for good (a person deleted the mirror, it can no longer be edited): said once,
            # and remembered, so that one mirror does not fail its group on every run.
            run.report.warnings.append(f"{update.marker}: its mirror {update.mirror_id} could not be "
                                       f"updated ({describe(exc)}); left as it is")
        else:
            run.report.count_post("update")
        source_hashes(run)[str(update.marker)] = update.source_hash
        ctx.state.save()
