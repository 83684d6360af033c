"""Phase 4, apply: post the planned mirrors, and settle every post before the next request.

Several groups' mirrors share a request (at most POSTS_PER_REQUEST), each group's in order,
with `halt`: a post that fails stops the rest of its request. Every post of a request is
recorded in the ledger (one atomic write) before the next request is sent. A request whose
answer is lost, or a post answered with something that is not a comment id, is settled by
reading the master back — never by posting again blindly.
"""
from __future__ import annotations

from b24mirror.policy.words import plural
from b24mirror import bitrix
from b24mirror.policy.edits import source_hash
from b24mirror.policy.markers import talk_marker
from b24mirror.policy.models import KIND_RESULT, Marker, PlannedMirror
from b24mirror.stopping import write_in_flight
from b24mirror.sync.common import Context, describe, guarded, local_now, source_hashes
from b24mirror.sync.decide import QUARANTINE_AFTER, rejections
from b24mirror.sync.digest import split_refused
from b24mirror.sync.masters import flag_digest_entries, read_master_markers, with_baseline
from b24mirror.sync.records import GroupFailed, GroupRun

POSTS_PER_REQUEST = 50  # mirrors posted per batch request: few requests, bodies of a sane size


def post_all(ctx: Context, runs: list[GroupRun]) -> None:
    queue = {run: list(run.decision.todo) for run in runs}
    done = dict.fromkeys(queue, 0)
    while queue and not any(run.report.out_of_time for run in queue):
        with write_in_flight():  # Ctrl-C or SIGTERM waits until this request's posts are recorded
            _post_request(ctx, _next_request(queue), queue, done)


def _post_request(ctx: Context, request: list, queue: dict, done: dict) -> None:
    try:
        items = ctx.portal.post_many([(run.target, with_baseline(m.text, m.marker, run.listing.baseline))
                                      for run, chunk in request for m in chunk])
    except bitrix.OutcomeUnknown:
        items = None
    except bitrix.DeadlineExceeded as exc:
        if exc.__cause__ is None:
            for run in queue:  # the deadline came before this request left: the next run posts the rest
                run.report.out_of_time = True
            return
        for run, _ in request:  # refused until no time was left to try again: a failure, said as such
            run.report.error = describe(exc)
            del queue[run]
        return
    except bitrix.BitrixError as exc:
        if isinstance(exc, bitrix.AuthError):
            raise
        for run, _ in request:  # nothing of this request ran: the other groups go on
            run.report.error = describe(exc)
            del queue[run]
        return
    with ctx.state.one_write():  # every post of the request recorded before the next is sent
        _settle_request(ctx, request, items, queue, done)


def _next_request(queue: dict) -> list[tuple[GroupRun, list[PlannedMirror]]]:
    request, room = [], POSTS_PER_REQUEST
    for run, todo in queue.items():
        if room <= 0:
            break
        request.append((run, todo[:room]))
        room -= len(request[-1][1])
    return request


def split_answers(request: list, items: list | None) -> list[list | None]:
    """Each group's share of a request's answers, in the order its posts were sent."""
    shares, offset = [], 0
    for _, chunk in request:
        shares.append(items[offset:offset + len(chunk)] if items is not None else None)
        offset += len(chunk)
    return shares


def _settle_request(ctx: Context, request: list, items: list | None, queue: dict, done: dict) -> None:
    for (run, chunk), answers in zip(request, split_answers(request, items)):
        settled = 0

        def settle(_, run=run, chunk=chunk, answers=answers) -> None:
            nonlocal settled
            settled = settle_chunk(ctx, run, chunk, answers)

        guarded([run], settle)
        if not run.report.ok:
            del queue[run]
            continue
        _remember_sources(run, chunk[:settled])
        done[run] += settled
        ctx.progress(run.config.label, done[run], len(run.decision.todo))  # each target posts on its own line
        queue[run] = run.decision.resplit + queue[run][settled:]
        run.decision.resplit = []
        if not queue[run]:
            del queue[run]


def settle_chunk(ctx: Context, run: GroupRun, chunk: list[PlannedMirror], items: list | None) -> int:
    """Settle one group's posts of a request, in order, each recorded once it is known to exist.

    items: the answers to the posts (None when the request's outcome is unknown). Returns how many of
    the chunk are settled: fewer than all when another group's failure halted the request before them."""
    failure, posted = None, []
    for index, mirror in enumerate(chunk):
        item = items[index] if items is not None else None
        mirror_id = posted_id(item)
        if mirror_id is not None:
            posted.extend((marker, mirror_id, local_now()) for marker in mirror.markers)  # a digest: each item
            run.report.count_post(mirror)
            continue
        if item is not None and getattr(item.error, "code", "") == "BATCH_HALTED":
            _record(run, posted, chunk[:index])
            return index  # this group's own posts all landed: an earlier group's failure stopped these
        if item is not None and refused_for_good(item.error):
            # The portal said no to this one post, and halt stopped the rest unrun: they go in the next
            # request; this one waits for the next run (and is quarantined if it is refused again and again).
            _record(run, posted, chunk[:index])
            if len(mirror.covers) > 1:  # a digest: which of its items is refused is found in this run
                run.decision.resplit.extend(split_refused(ctx, run, mirror))
                return index + 1
            _count_rejection(run, mirror, item.error)
            run.report.refused += 1
            run.report.warnings.append(f"{mirror.marker}: the portal refused its post ({describe(item.error)}); "
                                       f"it is tried again next run, and set aside after {QUARANTINE_AFTER} refusals")
            return index + 1
        failure = item.error if item is not None and item.error is not None else (
            bitrix.OutcomeUnknown("OUTCOME_UNKNOWN", f"a post was answered with {str(item.result)[:60]!r}, not a "
                                  "comment id") if item is not None else None)
        break
    _record(run, posted, chunk)  # one write for the batch, before anything else is posted
    if items is not None and failure is None:
        return len(chunk)
    # Some posts may or may not have landed: the master itself says which, never a blind retry.
    try:
        landed = read_master_markers(ctx, run)  # records what it finds in the ledger
    except bitrix.DeadlineExceeded:
        # No time left to read back: these posts are neither sent nor unsent, and are said so.
        run.report.unsettled += sum(1 for index, mirror in enumerate(chunk) if not run.state.has(mirror.marker)
                                    and (items is None or _outcome_unknown(items[index])))
        raise
    for index, mirror in enumerate(chunk):
        answered = items is not None and posted_id(items[index]) is not None
        if not answered and mirror.marker in landed:
            run.report.count_post(mirror)
    missing = [m for m in chunk if not run.state.has(m.marker)]
    if missing and failure is not None and not isinstance(failure, bitrix.OutcomeUnknown) \
            and not portals_pace(failure) and len(missing[0].covers) <= 1:  # a digest's failure is none of its items'
        _count_rejection(run, missing[0], failure)  # the first missing one is the post that was refused
    if missing:
        reason = describe(failure) if failure is not None else "the portal's answer was lost"
        raise GroupFailed(f"{plural(len(missing), 'mirror')} not posted ({reason}); they will be posted next run")
    return len(chunk)


def _record(run: GroupRun, posted: list, mirrors: list[PlannedMirror]) -> None:
    """Record the posts known to exist in one write; a digest's entries are flagged as such."""
    run.state.record_posts(posted)
    flag_digest_entries(run, [marker for mirror in mirrors if mirror.covers for marker in mirror.covers])


def refused_for_good(error) -> bool:
    """A definite no to one post: an error the portal answered for it (not a lost answer, not a halt), and
    not one that says the webhook may not post at all — that fails the group, it is not this item's."""
    return (isinstance(error, bitrix.BitrixError)
            and not isinstance(error, (bitrix.OutcomeUnknown, bitrix.AuthError, bitrix.PermissionDenied,
                                       bitrix.RetryableError))
            and not portals_pace(error) and getattr(error, "code", "") != "BATCH_HALTED")


def portals_pace(error) -> bool:
    """The portal asking to slow down (QUERY_LIMIT_EXCEEDED, a method's time budget spent): it says nothing of
    the post, so it never counts toward the quarantine; the post goes out once the limit passes."""
    return isinstance(error, bitrix.BudgetExceeded) or getattr(error, "code", "") in (
        "QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT")


def _count_rejection(run: GroupRun, mirror: PlannedMirror, failure: Exception) -> None:
    record = rejections(run).setdefault(str(mirror.marker), {"count": 0})
    record.update(count=record["count"] + 1, error=describe(failure)[:300], at=local_now())


def _outcome_unknown(item) -> bool:
    """An answer that does not say whether its post landed: none at all, or one carrying no comment id."""
    return item.error is None or isinstance(item.error, bitrix.OutcomeUnknown)


def posted_id(item) -> int | None:
    """The new comment's id from a post's answer; None when the answer carries none (an error, or a
    malformed result: the post may have landed, so the master is read back rather than posted again)."""
    if item is None or item.error is not None:
        return None
    try:
        mirror_id = int(item.result)
    except (TypeError, ValueError):
        return None
    return mirror_id if mirror_id > 0 else None


def _remember_sources(run: GroupRun, posted: list[PlannedMirror]) -> None:
    """Every comment's and result's source hash: edits follow them, and a result is matched to the comment it
    was made from by it (policy/results.py)."""
    posted = [mirror for mirror in posted if not mirror.covers]  # a digest's items are not rewritten
    sources = {talk_marker(task_id, c): c for task_id, cs in run.details.comments.items() for c in cs}
    sources.update((Marker(KIND_RESULT, r.task_id, r.id), r) for rs in run.details.results.values() for r in rs)
    for mirror in posted:
        if mirror.marker in sources:
            source_hashes(run)[str(mirror.marker)] = source_hash(sources[mirror.marker].text)
