"""Digest mode within a run: new items held in the state, posted as one comment when they are due.

Held items live in the group's meta (marker -> item), so each is held once however often it is
planned again. When the period is up, the master is read back first (a digest whose answer was
lost is found there, never posted twice), and what is still missing goes out through the one
posting path (apply.py) as digest posts carrying every item's marker. A lost state loses what was
held, but not the items: they are planned again from the portal, held again, and the master's
markers say which were posted already.
"""
from __future__ import annotations

from b24mirror.policy.digest import HeldItem, digests, due_at, is_urgent
from b24mirror.policy.models import PlannedMirror, parse_date, readable_date
from b24mirror.policy.shown import shown_title
from b24mirror.sync.common import Context
from b24mirror.sync.masters import read_master_markers
from b24mirror.sync.records import GroupRun

HELD = "digest"  # group meta: marker -> held item (HeldItem.to_dict)


def held_items(run: GroupRun) -> dict[str, HeldItem]:
    """What is held for the next digest and not yet in the ledger."""
    stored = run.state.meta.get(HELD) or {}
    return {key: HeldItem.from_dict(key, data) for key, data in stored.items() if not run.state.has(key)}


def hold_for_digest(ctx: Context, run: GroupRun, postable: list[PlannedMirror]) -> list[PlannedMirror]:
    """What to post now: urgent items, and the digest posts when they are due. The rest is held."""
    config = run.config.digest
    held = held_items(run)
    if config is None and not held:
        return postable
    events = {e.id: e for rows in run.details.history.values() for e in rows}
    tasks = run.all_tasks()
    at_once = []
    for mirror in postable:
        if config is None or is_urgent(mirror, config, events):
            at_once.append(mirror)
            continue
        task = tasks.get(mirror.task_id)
        title = shown_title(task.title, run.config.rules, run.config.language) if task else ""
        held.setdefault(str(mirror.marker), HeldItem(mirror.marker, mirror.text, mirror.source_date,
                                                     mirror.task_id, title))
    due = due_at(config, held.values())
    now = run.listing.now
    posting: list[PlannedMirror] = []
    if due is not None and readable_date(now) and now and parse_date(now) >= due:
        trusted = run.decision.trusted
        if trusted is None:  # nothing new was planned this run: the master was not read back yet
            trusted = read_master_markers(ctx, run)
        held = {key: item for key, item in held.items() if not run.state.has(key) and item.marker not in trusted}
        posting = digests(list(held.values()), master_id=run.master.id, portal_url=ctx.portal.portal_url,
                          language=run.config.language, flavour="chat" if run.master.chat_id else "forum")
    if not ctx.options.dry_run:
        run.state.meta[HELD] = {key: item.to_dict() for key, item in held.items()}
    waiting = [item for key, item in held.items() if not any(item.marker in p.covers for p in posting)]
    run.report.digest_held = len(waiting)
    next_due = due_at(config, waiting)
    run.report.digest_due = next_due.isoformat() if next_due else None
    return at_once + posting


def prune_posted(run: GroupRun) -> None:
    """Drop from the held items those now in the ledger (posted by this run's digest)."""
    stored = run.state.meta.get(HELD)
    if stored:
        run.state.meta[HELD] = {key: data for key, data in stored.items() if not run.state.has(key)}
