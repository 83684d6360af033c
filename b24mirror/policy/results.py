"""Which results of a subtask go into the master, and which comments are left to them. Pure.

A result is mirrored as its own kind (`b24m:result:TASK:RESULT`), judged by the same verdict as a
comment (its author, its text). The comment a result was made from is not mirrored beside it: when both
are new, only the result goes; when the comment is already in the master, the result's mirror says which
comment became the result instead of repeating its text. A classic result names its comment
(`commentId`); a new-card one does not, so its text is matched against the comments' (the hash of each
mirrored comment's source text is remembered when it is posted).
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

from b24mirror.policy import render
from b24mirror.policy.edits import DELETED, FINAL, WITHDRAWN, PlannedUpdate, source_hash
from b24mirror.policy.models import KIND_COMMENT, KIND_RESULT, TALK_KINDS, Comment, Marker, Result, Task
from b24mirror.policy.plan import comment_reason, people
from b24mirror.policy.shown import shown_task

REASON_IS_RESULT = "mirrored as the subtask's result"


def made_from(result: Result, comment: Comment) -> bool:
    """Whether `comment` is the one `result` was made from."""
    if result.comment_id:
        return comment.id == result.comment_id
    return comment.author_id == result.author_id and source_hash(comment.text) == source_hash(result.text)


def result_comments(results: Iterable[Result], comments: Iterable[Comment]) -> set[int]:
    """The ids of the comments that are a result: these go into the master as the result, not as comments."""
    results = list(results)
    return {c.id for c in comments if any(made_from(r, c) for r in results)}


def mirrored_source(result: Result, task_id: int, known: Iterable[Marker], hashes: Mapping[str, str]) -> Marker | None:
    """The comment mirror already in the master that this result was made from, if any."""
    for marker in known:
        if marker.kind not in TALK_KINDS or marker.task_id != task_id:
            continue
        if result.comment_id:  # a forum comment's result (the classic card) names it
            if marker.kind == KIND_COMMENT and marker.source_id == result.comment_id:
                return marker
        elif hashes.get(str(marker)) == source_hash(result.text):
            return marker
    return None


def plan_snapshot_results(plan, snap, task: Task, flavour: str, where: str | None, *,
                          add: Callable[[Marker, Callable[[], str], str], None]) -> None:
    """plan.plan_group's part for one subtask's results: `where` is the subtask's own verdict (None: inside)."""

    def judge(comment: Comment) -> str | None:
        return where or comment_reason(comment, task, group=snap.group, master=snap.master, tasks=snap.tasks,
                                       members=snap.members, users=snap.users, own_user_id=snap.own_user_id)

    names = {uid: user.name for uid, user in people(snap.users, snap.tasks).items()}
    plan_results(task, snap.results.get(task.id, []), judge=judge, add=add, skip=plan.skip, known=snap.known,
                 hashes=snap.hashes, names=names, portal_url=snap.portal_url, group=snap.group, flavour=flavour)


def plan_results(task: Task, results: Iterable[Result], *, judge: Callable[[Comment], str | None],
                 add: Callable[[Marker, Callable[[], str], str], None], skip: Callable[[str, Marker], None],
                 known: Iterable[Marker], hashes: Mapping[str, str], names: Mapping[int, str], portal_url: str, group, flavour: str) -> None:
    """Each result: skipped with the verdict's reason, or handed to `add` with its text."""
    known = list(known)
    for result in results:
        marker = Marker(KIND_RESULT, task.id, result.id)
        reason = judge(result.as_comment(names.get(result.author_id, "")))
        if reason is not None:
            skip(reason, marker)
            continue
        already = mirrored_source(result, task.id, known, hashes) is not None

        def text(result=result, already=already) -> str:
            return render.render_result(shown_task(task, group.rules, group.language), result, author_name=names.get(result.author_id, ""),
                                        portal_url=portal_url, language=group.language, rules=group.rules,
                                        max_chars=group.max_chars, flavour=flavour, already_mirrored=already)

        add(marker, text, result.date)


def plan_result_updates(task: Task, results: Iterable[Result], *, ledger: Mapping[str, dict],
                        hashes: Mapping[str, str], judge: Callable[[Comment], str | None], names: Mapping[int, str],
                        portal_url: str, group, flavour: str) -> list[PlannedUpdate]:
    """The result mirrors of one subtask (whose results were all read) to rewrite: a changed result is shown
    anew (judged again: one the rules now keep out is withdrawn), a removed one is marked removed. Each once:
    the recorded source hash moves with every rewrite."""
    current = {r.id: r for r in results}
    updates = []
    for key, record in sorted(ledger.items()):
        marker = Marker.parse(key)
        if marker.kind != KIND_RESULT or marker.task_id != task.id:
            continue
        if not record or not record.get("id") or record.get("digest") or hashes.get(key) in FINAL:
            continue  # no id to rewrite, one item of a digest, or already removed or withdrawn
        mirror_id, seen, result = int(record["id"]), hashes.get(key), current.get(marker.source_id)
        note = dict(group_id=group.id, language=group.language, flavour=flavour, portal_url=portal_url)
        if result is None:
            updates.append(PlannedUpdate(marker, mirror_id, render.render_result_removed(marker, **note), DELETED))
            continue
        new_hash = source_hash(result.text)
        if seen == new_hash:
            continue
        # seen None: posted by a run whose record is lost, so nothing to compare with: the mirror is written
        # again (the same text again is harmless) and from then on followed by its hash.
        already = seen is None and mirrored_source(result, task.id, map(Marker.parse, ledger), hashes) is not None
        author = names.get(result.author_id, "")
        if judge(result.as_comment(author)) is not None:
            updates.append(PlannedUpdate(marker, mirror_id, render.render_withdrawn_note(marker, **note), WITHDRAWN))
            continue
        text = render.render_result(shown_task(task, group.rules, group.language), result, author_name=author, portal_url=portal_url, language=group.language,
                                    rules=group.rules, max_chars=group.max_chars, flavour=flavour,
                                    already_mirrored=already)
        updates.append(PlannedUpdate(marker, mirror_id, text, new_hash))
    return updates
