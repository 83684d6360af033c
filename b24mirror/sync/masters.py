"""The master's own markers: the truth the ledger may have lost.

A marker counts only on a comment b24mirror's own user wrote, carrying exactly one marker, or
on a digest of ours (its own header, one marker per item: digest.trusted_in): a person can paste
a marker too, and must neither block a mirror nor pass for one.

A master switched to the new card keeps its forum comments, our mirrors among them, and talks on in
its chat, where new mirrors go: both worlds are read back, each from its own cursor.
"""
from __future__ import annotations

import re
from datetime import datetime

from b24mirror import bitrix
from b24mirror.policy.digest import is_digest, trusted_in
from b24mirror.policy.models import MARKER_RE, WORLD_CHAT, WORLD_CLASSIC, Marker, MasterComment
from b24mirror.portal import q_task
from b24mirror.sync.common import Context
from b24mirror.sync.records import GroupRun


# Every mirror's marker carries the group's baseline along, `b24m:KIND:TASK:SOURCE~since=UNIX` (0 while
# history is imported), so a lost state resumes from the first sync's date, not from the oldest post.
IN_FORUM = "forum"  # ledger flag: the mirror is a forum comment of a master switched to the new card
SINCE_RE = re.compile(MARKER_RE.pattern + r"~since=(?P<since>\d+)")  # every kind a marker may be, no second list


def baselines_in(text: str) -> list[int]:
    return [int(match.group("since")) for match in SINCE_RE.finditer(text or "")]


def with_baseline(text: str, marker: Marker, baseline: datetime | None) -> str:
    """The mirror text with the baseline riding on its marker (the first occurrence)."""
    since = 0 if baseline is None else max(0, int(baseline.timestamp()))
    return text.replace(str(marker), f"{marker}~since={since}", 1)


def flag_forum_entries(run: GroupRun, markers) -> None:
    """Mark ledger entries whose mirror sits in the forum of a master that now talks in its chat."""
    for marker in markers:
        record = run.state.ledger.get(str(marker))
        if record is not None:
            record[IN_FORUM] = True


def in_forum_of_switched_master(run: GroupRun, marker) -> bool:
    record = run.state.ledger.get(str(marker)) or {}
    return run.target.world == WORLD_CHAT and bool(record.get(IN_FORUM))


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
    fresh = [(marker, c) for marker, c in found if not run.state.has(marker)]
    unrecorded = [(marker, c.id, c.date) for marker, c in fresh]
    if not ctx.options.dry_run:
        run.state.record_posts(unrecorded)
        # No hash says what these were made from (a lost state): edits are judged by their text (policy/edits.py),
        # where a mirror can still be rewritten: a switched master's forum mirrors are left as they are.
        run.decision.shown.update((str(marker), c.text) for marker, c in fresh if c.world == run.target.world)
        flag_digest_entries(run, [marker for marker, c in found if is_digest(c)])
        remember_seen(run, comments)
    return {marker for marker, _ in found}


def seen_ids(run: GroupRun) -> tuple[int, int]:
    """The newest master comments already read back, in the master's own world and in its forum: later
    read-backs start after them. When the master has switched to the new card since, what was read was its
    forum, and its chat is read from the start."""
    meta, world = run.state.meta, run.target.world
    seen, forum = int(meta.get("master_seen_id") or 0), int(meta.get("master_seen_forum_id") or 0)
    read_in = meta.get("master_seen_world")
    if read_in is None and world == WORLD_CHAT and run.target.comments_count:
        return 0, 0  # recorded before both worlds were told apart: read both whole, once
    if read_in not in (None, world):
        return 0, seen
    return seen, seen if world == WORLD_CLASSIC else forum


def remember_seen(run: GroupRun, comments: list[MasterComment]) -> None:
    seen, forum = seen_ids(run)
    world = run.target.world
    if world == WORLD_CHAT and run.state.meta.get("master_seen_world") == WORLD_CLASSIC:
        # The master switched to the new card: the mirrors recorded before are forum comments (ids of another
        # kind than chat messages), which no chat method may be pointed at.
        in_chat = {str(m) for c in comments if c.world == world for m in c.markers}
        flag_forum_entries(run, [key for key in run.state.ledger if key not in in_chat])
    flag_forum_entries(run, [m for c in comments if c.world != world for m in c.markers])
    seen = max([seen, *(c.id for c in comments if c.world == world)])
    forum = max([forum, *(c.id for c in comments if c.world == WORLD_CLASSIC)])
    run.state.meta.update(master_seen_id=seen, master_seen_forum_id=forum, master_seen_world=world)


def read_master_markers(ctx: Context, run: GroupRun) -> frozenset[Marker]:
    if run.target.world != WORLD_CHAT:
        # A post to the master of a group switched to the new card opens its chat and lands there.
        fresh = ctx.portal.one(q_task(run.target.id))
        if fresh is not None and fresh.world == WORLD_CHAT:
            run.target = fresh
    comments = ctx.portal.master_comments(run.target, *seen_ids(run))
    return frozenset(trust(ctx, run, comments))


def read_back_wanted(runs: list[GroupRun]) -> dict[GroupRun, tuple]:
    """The masters to read back, each from where the last read-back stopped."""
    return {run: (run.target, *seen_ids(run)) for run in runs}


def take_read_back(ctx: Context, answers: dict) -> None:
    """Trust what each master holds (the ledger learns the mirrors it lacked); a failed read leaves the
    group's `trusted` unset, and the group reads its master again by itself before it posts."""
    with ctx.state.one_write():
        for run, comments in answers.items():
            if not isinstance(comments, bitrix.BitrixError):
                run.decision.trusted = frozenset(trust(ctx, run, comments))


def read_masters_back(ctx: Context, runs: list[GroupRun]) -> None:
    """Before posting, read back the masters not read along with the details (details.read_details): every
    group with something to post, in one batch."""
    wanted = read_back_wanted([run for run in runs if run.decision.trusted is None
                               and run.decision.plan is not None and run.decision.plan.mirrors])
    take_read_back(ctx, ctx.portal.master_comments_many(wanted))
