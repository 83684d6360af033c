"""Phase 5, edits: with `on_edit`/`on_delete` set, rewrite the mirrors whose source changed.

Which mirrors and with what text is decided in edits.py (pure); this phase only writes
them, recording each source hash as soon as its update is made.
"""
from __future__ import annotations

from b24mirror.edits import plan_updates
from b24mirror.sync.apply import source_hashes
from b24mirror.sync.common import Context
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
        )
        for update in updates:
            ctx.portal.update_comment(run.master, update.mirror_id, update.text)
            source_hashes(run)[str(update.marker)] = update.source_hash
            run.report.count_post("update")
            ctx.state.save()
