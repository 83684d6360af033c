"""Digest mode within a run: new items held in the state, posted as one comment when they are due.

Held items live in the group's meta (marker -> item), so each is held once however often it is
planned again. When the period is up, the master is read back first (a digest whose answer was
lost is found there, never posted twice), and what is still missing goes out through the one
posting path (apply.py) as digest posts carrying every item's marker. A lost state loses what was
held, but not the items: they are planned again from the portal, held again, and the master's
markers say which were posted already.

An item goes out as it is when the digest is due, not as it was when it was held: its comment cursor
stays below it, its task is listed by id and read again once the digest is due, and that run's plan
judges it (new text after an edit; left out when deleted or covered by a rule added meanwhile). A
digest the portal refuses is halved within the run until the refused item stands alone.
"""
from __future__ import annotations

from dataclasses import replace

from b24mirror.policy.digest import HeldItem, digests, due_at, is_urgent
from b24mirror.policy.markers import old_form
from b24mirror.policy.models import ELIGIBLE, KIND_COMMENT, WORLD_CLASSIC, Marker, PlannedMirror, Task, parse_date, readable_date
from b24mirror.portal import reading_world
from b24mirror.policy.shown import shown_title, title_hidden
from b24mirror.sync.common import Context
from b24mirror.sync.masters import read_master_markers
from b24mirror.sync.records import GroupRun

HELD = "digest"  # group meta: marker -> held item (HeldItem.to_dict)


def held_items(run: GroupRun) -> dict[str, HeldItem]:
    """What is held for the next digest and not yet in the ledger."""
    stored = run.state.meta.get(HELD) or {}
    return {key: HeldItem.from_dict(key, data) for key, data in stored.items() if not run.state.has(key)}


def hold_for_digest(ctx: Context, run: GroupRun, postable: list[PlannedMirror],
                    quarantined: frozenset[Marker] = frozenset()) -> list[PlannedMirror]:
    """What to post now: urgent items, and the digest posts when they are due. The rest is held.

    A held item the portal refused too often (`quarantined`) leaves the digest: it waits for `repair`."""
    config = run.config.digest
    held = held_items(run)
    for key in [key for key, item in held.items() if item.marker in quarantined]:
        item = held.pop(key)
        if all(m.marker != item.marker for m in run.decision.quarantined):
            run.decision.quarantined.append(item.as_mirror())
    if config is None and not held:
        return postable
    events = {e.id: e for rows in run.details.history.values() for e in rows}
    tasks = run.all_tasks()
    forum = {(c.task_id, c.id) for rows in run.details.comments.values() for c in rows if c.world == WORLD_CLASSIC}
    at_once = []
    for mirror in postable:
        old = str(old_form(mirror.marker))
        if old in held and not held[old].forum:
            del held[old]  # a chat message held before `message` existed: the same item, now under its own marker
        if config is None or is_urgent(mirror, config, events):
            at_once.append(mirror)
            continue
        task = tasks.get(mirror.task_id)
        title = shown_title(task.title, run.config.rules, run.config.language) if task else ""
        held[str(mirror.marker)] = HeldItem(mirror.marker, mirror.text, mirror.source_date, mirror.task_id, title,
                                            mirror.marker.kind == KIND_COMMENT and (mirror.task_id, mirror.marker.source_id) in forum)
    held = _judged_again(run, held)
    posting: list[PlannedMirror] = []
    if _is_due(run, held.values()):
        trusted = run.decision.trusted
        if trusted is None:  # nothing new was planned this run: the master was not read back yet
            trusted = read_master_markers(ctx, run)
        held = {key: item for key, item in held.items() if not run.state.has(key) and item.marker not in trusted}
        ready = [item for item in held.values() if _read_now(run, item.task_id)]  # the others wait for their read
        run.decision.digest_items = {item.marker: item for item in ready}
        posting = _digests(ctx, run, ready)
    if not ctx.options.dry_run:
        run.state.meta[HELD] = {key: item.to_dict() for key, item in held.items()}
    waiting = [item for key, item in held.items() if not any(item.marker in p.covers for p in posting)]
    run.report.digest_held = len(waiting)
    next_due = due_at(config, waiting)
    run.report.digest_due = next_due.isoformat() if next_due else None
    return at_once + posting


def _is_due(run: GroupRun, held) -> bool:
    due, now = due_at(run.config.digest, held), run.listing.now
    return due is not None and bool(now) and readable_date(now) and parse_date(now) >= due


def due_sources(run: GroupRun) -> set[int]:
    """The tasks of the held items once their digest is due (listings reads them as changed): a digest
    posts each item as its source and the rules are when it goes out, not as they were when it was held."""
    held = held_items(run)
    return {item.task_id for item in held.values()} if _is_due(run, held.values()) else set()


def held_tasks(run: GroupRun) -> set[int]:
    """Tasks with items held: listed by id in every run's listing, so that a due digest can read them."""
    return {item.task_id for item in held_items(run).values()}


def _read_now(run: GroupRun, task_id: int) -> bool:
    return task_id in run.details.read_ok and task_id not in run.details.incomplete


def _judged_again(run: GroupRun, held: dict[str, HeldItem]) -> dict[str, HeldItem]:
    """The held items as the plan of this run judges them. An item whose task was read again this run and
    the plan found ineligible (edited into a hidden text, deleted, covered by a rule added since, its task
    gone or its title hidden) is dropped; one the plan found eligible was refreshed from it above. Items of
    tasks not read this run keep the verdict they were held with until their digest reads them."""
    decisions = run.decision.plan.decisions if run.decision.plan is not None else {}
    tasks, rules = run.all_tasks(), run.config.rules
    kept = {}
    for key, item in held.items():
        task = tasks.get(item.task_id)
        if item.task_id in run.listing.vanished:
            continue  # asked for by id and not there: deleted, or no longer visible
        if _read_now(run, item.task_id):
            decision = decisions.get(item.marker)
            if decision not in (None, ELIGIBLE) or title_hidden(task, rules) or _gone(run, item, decision, task):
                continue
            item = replace(item, title=shown_title(task.title, rules, run.config.language))
        kept[key] = item
    return kept


def _gone(run: GroupRun, item: HeldItem, decision: str | None, task: Task | None) -> bool:
    """A held forum comment its task's read covered (the cursor stays below held items) that is no longer
    listed: deleted. A deleted chat message is listed with its flag and judged by the plan instead, and a
    task read in its chat this run (the card switched) says nothing of its forum comments."""
    if decision is not None or not item.forum or task is None:
        return False
    if reading_world(run.config.comments_source, task) != WORLD_CLASSIC:
        return False
    return item.marker.source_id > int(run.snap(item.task_id).get("last_comment_id") or 0)


def _digests(ctx: Context, run: GroupRun, items: list[HeldItem]) -> list[PlannedMirror]:
    return digests(items, master_id=run.target.id, group_id=run.target_group_id, portal_url=ctx.portal.portal_url,
                   language=run.config.language, flavour="chat" if run.target.chat_id else "forum")


def split_refused(ctx: Context, run: GroupRun, post: PlannedMirror) -> list[PlannedMirror]:
    """A digest the portal refused, as two digests of half its items each, to be posted in the same run.

    The portal does not say which item it refuses, and a refusal posts nothing: halving until the
    refused item stands alone lets every other item out now, and counts the refusal against that item."""
    items = [run.decision.digest_items[marker] for marker in post.covers]
    half = len(items) // 2
    return _digests(ctx, run, items[:half]) + _digests(ctx, run, items[half:])


def prune_posted(run: GroupRun) -> None:
    """Drop from the held items those now in the ledger (posted by this run's digest)."""
    stored = run.state.meta.get(HELD)
    if stored:
        run.state.meta[HELD] = {key: data for key, data in stored.items() if not run.state.has(key)}
