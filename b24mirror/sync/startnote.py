"""The start note phase: a lane's baseline on the portal before its first mirror.

The baseline (nothing older than the first sync is mirrored unless history is imported) lives in the state
and rides on every mirror's marker (`~since=`), from which a lost state resumes (listings._resume_from_markers).
Until the first mirror exists, nothing in the target carries it: a state lost then would take a new baseline,
and everything written in between would never be mirrored (a digest group's whole first period). So a lane
posts one start note into its target carrying the baseline (policy/render/startnote.py), once: recorded in
the lane's meta when posted, or when a mirror carries the baseline already. Before posting, the target is
looked at (a lost state, a lost answer, a state from before start notes): a note found there is recorded,
not posted again. All lanes' notes go out in one request.
"""
from __future__ import annotations

from datetime import datetime

from b24mirror import bitrix
from b24mirror.policy.models import WORLD_CHAT
from b24mirror.policy.render.dates import format_date
from b24mirror.policy.render.startnote import render_start_note, trusted_starts
from b24mirror.stopping import write_in_flight
from b24mirror.sync.apply import posted_id
from b24mirror.sync.common import Context, describe
from b24mirror.sync.records import GroupRun

# Lane meta: {"since": the baseline (unix seconds), "id": the note's comment id, 0 when a mirror carries it}.
START = "start_note"


def post_start_notes(ctx: Context, runs: list[GroupRun]) -> None:
    wanted = []
    for run in filter(_lacks_note, runs):
        if len(run.state.ledger):
            _record(ctx, run, 0)  # a mirror is in the target: its marker carries the baseline
        else:
            wanted.append(run)
    # A first sync read its target with the listings; any other lane reads it now, all in one batch.
    unread = {run: (run.target, 0, 0) for run in wanted if run.listing.master_read is None}
    read = ctx.portal.master_comments_many(unread) if unread else {}
    to_post = []
    for run in wanted:
        comments = read.get(run, run.listing.master_read)
        if isinstance(comments, bitrix.BitrixError):
            run.report.warnings.append(f"the start note waits: task {run.target.id} could not be read "
                                       f"({describe(comments)}); it is looked for and posted next run")
        elif found := trusted_starts(comments, ctx.me):
            since, note = min(found, key=lambda pair: pair[0])
            _record(ctx, run, note.id, since)
        elif ctx.options.dry_run:
            run.report.notes.append(f"a real run would post the start note into task {run.target.id}: "
                                    f"mirrored from {_since_text(run)}")
        else:
            to_post.append(run)
    if to_post:
        _post(ctx, to_post)


def _lacks_note(run: GroupRun) -> bool:
    baseline = run.listing.baseline
    return (run.report.ok and not run.report.out_of_time and run.target is not None
            and START not in run.state.meta
            and baseline is not None and baseline.timestamp() > 0)  # importing history: nothing older to lose


def _post(ctx: Context, runs: list[GroupRun]) -> None:
    texts = [(run.target, render_start_note(
        group_id=run.gid, since=run.listing.baseline, target_id=run.target.id, target_group_id=run.target_group_id,
        portal_url=ctx.portal.portal_url, language=run.config.language,
        flavour="chat" if run.target.world == WORLD_CHAT else "forum")) for run in runs]
    with write_in_flight():
        try:
            items = ctx.portal.post_many(texts)
        except bitrix.OutcomeUnknown:
            items = [None] * len(runs)
        except bitrix.DeadlineExceeded:
            for run in runs:  # landed or not, the next run looks for the note before posting it
                run.report.out_of_time = True
            return
        for run, item in zip(runs, items):
            if posted_id(item) is not None:
                _record(ctx, run, posted_id(item))
                run.report.notes.append(f"start note posted into task {run.target.id}: mirrored from "
                                        f"{_since_text(run)}")
            elif item is not None and item.error is not None:
                if isinstance(item.error, (bitrix.AuthError, bitrix.ScopeError)):
                    raise item.error
                run.report.warnings.append(f"the start note was refused by task {run.target.id} "
                                           f"({describe(item.error)}); it is tried again next run")
            else:
                run.report.warnings.append(f"the start note's post into task {run.target.id} was answered with "
                                           f"nothing; the task is read next run, and it is posted only if absent")
        ctx.state.save()


def _record(ctx: Context, run: GroupRun, note_id: int, since: int | None = None) -> None:
    if not ctx.options.dry_run:
        run.state.meta[START] = {"since": int(run.listing.baseline.timestamp()) if since is None else since,
                                 "id": note_id}


def _since_text(run: GroupRun) -> str:
    baseline: datetime = run.listing.baseline
    return format_date(baseline.isoformat())
