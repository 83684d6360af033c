"""Phase 5, edits: with `on_edit`/`on_delete` set, rewrite the mirrors whose source changed.

Which mirrors and with what text is decided in edits.py (pure); this phase only writes
them, recording each source hash as soon as its update is made.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.edits import plan_updates
from b24mirror.stopping import write_in_flight
from b24mirror.sync.apply import source_hashes
from b24mirror.sync.common import Context, describe
from b24mirror.sync.masters import in_forum_of_switched_master
from b24mirror.sync.records import GroupRun


def apply_edits(ctx: Context, run: GroupRun) -> None:
    details = run.details
    for task_id in sorted(set(details.revisited) | set(details.comments)):
        if task_id not in details.read_ok:
            continue
        messages = {m.id: m for m in details.revisited.get(task_id, []) + details.comments.get(task_id, [])}
        updates = plan_updates(
            run.config, run.master, run.listing.tasks[task_id], messages.values(), ledger=run.state.ledger,
            hashes=source_hashes(run), users=details.users, portal_url=ctx.portal.portal_url,
            members=details.members, tasks=run.all_tasks(), own_user_id=ctx.me,
        )
        for update in updates:
            if in_forum_of_switched_master(run, update.marker):
                # task.commentitem.update does not work on the new card, and a chat method given a forum id
                # could rewrite another message: said once, and left as it is.
                run.report.warnings.append(f"{update.marker}: its mirror {update.mirror_id} is in the forum of "
                                           f"master {run.master.id}, which moved to the new card; left as it is")
                source_hashes(run)[str(update.marker)] = update.source_hash
                continue
            try:
                with write_in_flight():
                    ctx.portal.update_comment(run.master, update.mirror_id, update.text)
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
