"""The master's own markers: the truth the ledger may have lost.

A marker counts only on a comment b24mirror's own user wrote, carrying exactly one marker, or
on a digest of ours (its own header, one marker per item: digest.trusted_in): a person can paste
a marker too, and must neither block a mirror nor pass for one.
"""
from __future__ import annotations

import re
from datetime import datetime

from b24mirror import bitrix
from b24mirror.policy.digest import is_digest, trusted_in
from b24mirror.policy.models import Marker, MasterComment
from b24mirror.sync.common import Context
from b24mirror.sync.records import GroupRun


# Every mirror's marker carries the group's baseline along, `b24m:KIND:TASK:SOURCE~since=UNIX` (0 while
# history is imported), so a lost state resumes from the first sync's date, not from the oldest post.
SINCE_RE = re.compile(r"b24m:(?:comment|event|subtask|result):\d+:\d+~since=(\d+)")


def baselines_in(text: str) -> list[int]:
    return [int(value) for value in SINCE_RE.findall(text or "")]


def with_baseline(text: str, marker: Marker, baseline: datetime | None) -> str:
    """The mirror text with the baseline riding on its marker (the first occurrence)."""
    since = 0 if baseline is None else max(0, int(baseline.timestamp()))
    return text.replace(str(marker), f"{marker}~since={since}", 1)


def trusted_markers(comments: list[MasterComment], me: int) -> list[tuple[Marker, MasterComment]]:
    """The mirrors among a master's comments: written by our user, one marker each, or a digest's markers."""
    return [(marker, c) for c in comments for marker in trusted_in(c, me)]


def flag_digest_entries(run: GroupRun, markers) -> None:
    """Mark ledger entries whose mirror is a digest: an edit of one item must not rewrite the whole comment."""
    for marker in markers:
        record = run.state.ledger.get(str(marker))
        if record is not None:
            record["digest"] = True


def trust(ctx: Context, run: GroupRun, comments: list[MasterComment]) -> set[Marker]:
    """Record the mirrors found in the master that the ledger lacks; return every marker found."""
    found = trusted_markers(comments, ctx.me)
    unrecorded = [(marker, c.id, c.date) for marker, c in found if not run.state.has(marker)]
    if not ctx.options.dry_run:
        run.state.record_posts(unrecorded)
        flag_digest_entries(run, [marker for marker, c in found if is_digest(c)])
        if comments:
            run.state.meta["master_seen_id"] = max(c.id for c in comments)
    return {marker for marker, _ in found}


def seen_id(run: GroupRun) -> int:
    """The newest master comment already read back: later read-backs start after it."""
    return int(run.state.meta.get("master_seen_id") or 0)


def read_master_markers(ctx: Context, run: GroupRun) -> frozenset[Marker]:
    comments = ctx.portal.master_comments(run.master, seen_id(run))
    return frozenset(trust(ctx, run, comments))


def read_masters_back(ctx: Context, runs: list[GroupRun]) -> None:
    """Before posting, read the masters back: every group with something to post, in one batch."""
    wanted = {run: (run.master, seen_id(run)) for run in runs
              if run.decision.plan is not None and run.decision.plan.mirrors}
    answers = ctx.portal.master_comments_many(wanted)
    with ctx.state.one_write():
        for run, comments in answers.items():
            if not isinstance(comments, bitrix.BitrixError):  # else the group reads it again by itself
                run.decision.trusted = frozenset(trust(ctx, run, comments))
