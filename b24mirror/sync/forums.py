"""Phase 2½, forums: a task's whole forum, when the marker a chat message's mirror carries is in question.

A mirror posted before `message` existed marks a chat message `comment` (the old form), and on a task with
both worlds the old form `comment:T:X` is the forum comment X's when T's forum holds one (policy/markers.py).
A run reads a switched task's forum from its cursor, so when a chat message read this run (new, edited or
deleted) has its old form known and its own marker not, the task's forum is read whole first: every group's
in one batch, a long forum page by page. A task whose forum cannot be read is left for the next run (it stays
changed), so that no message is posted or rewritten on a guess.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.markers import forum_ids, has_both_worlds, in_question, talk_marker
from b24mirror.portal import PAGE, q_classic_comments
from b24mirror.sync.common import Context, describe
from b24mirror.sync.records import GroupRun

MAX_FORUM_PAGES = 40  # per task per run: a forum longer than this is read on next run


def questions(run: GroupRun) -> list[int]:
    """The tasks read this run with a chat message whose old-form marker is known and its own is not."""
    details, tasks = run.details, run.listing.tasks
    candidates = [t for t in sorted(details.read_ok) if t in tasks and has_both_worlds(tasks[t])]
    if not candidates:
        return []
    known = run.state.ledger.known_for(candidates) | (run.decision.trusted or frozenset())
    asked = []
    for task_id in candidates:
        task = tasks[task_id]
        talk = details.comments.get(task_id, []) + [m for m in details.revisited.get(task_id, [])
                                                     if m.edited or m.deleted]
        if any(in_question(talk_marker(task_id, c), known, task) for c in talk):
            asked.append(task_id)
    return asked


def read_forums(ctx: Context, runs: list[GroupRun]) -> None:
    wanted = {(run, task_id): 0 for run in runs for task_id in questions(run)}
    found: dict[tuple, set[int]] = {key: set() for key in wanted}
    for run, task_id in wanted:  # not read until its forum is: a run cut short here settles none of them
        run.details.read_ok.discard(task_id)
    for _ in range(MAX_FORUM_PAGES):
        if not wanted:
            return
        answers = ctx.portal.run({key: q_classic_comments(key[1], after) for key, after in wanted.items()})
        for (run, task_id), answer in answers.items():
            key = (run, task_id)
            if isinstance(answer, bitrix.BitrixError):
                _left_for_next_run(run, task_id, f"its forum could not be read ({describe(answer)})")
                del wanted[key]
                continue
            found[key] |= forum_ids(answer)
            if len(answer) >= PAGE:
                wanted[key] = max(c.id for c in answer)
            else:
                run.details.forums[task_id] = frozenset(found[key])
                run.details.read_ok.add(task_id)
                del wanted[key]
    for run, task_id in wanted:
        _left_for_next_run(run, task_id, "its forum is longer than one run reads")


def _left_for_next_run(run: GroupRun, task_id: int, why: str) -> None:
    run.report.warnings.append(f"task {task_id}: {why}; it tells which old mirrors are its chat's, so the task "
                               f"waits and is read again next run")
