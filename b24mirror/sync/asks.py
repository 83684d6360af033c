"""Phase 2, details: what to ask about the changed tasks, in two batches (details.read_details).

The first asks whatever needs no task's world — chat look-ups, members, ancestors, history when it may
have news, results, the masters read back — with the talk of the tasks whose world is known; the second
the talk of the others, with the members as users. Every group's in the same batches, and what a task
list or user.get by id can serve for several groups (ancestors, users) in the same lists.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.edits import watches_edits
from b24mirror.policy.models import KIND_COMMENT, WORLD_CHAT, Task
from b24mirror.portal import (q_chat_messages, q_classic_comments, q_history, q_members, q_results,
                              q_tasks_by_ids, q_users, reading_world)
from b24mirror.sync.common import chunks
from b24mirror.sync.digest import due_sources
from b24mirror.sync.listings import pending_tasks
from b24mirror.sync.records import GroupRun


def world(run: GroupRun, task: Task) -> str:
    return reading_world(run.config.comments_source, task)


def readable(run: GroupRun) -> set[int]:
    """The changed tasks read this run: those whose comment world is known."""
    return run.listing.dirty - run.listing.unresolved


MEMBERS_READ_AHEAD = 2  # user.get commands: members read as users along with the talk, when they fit


def members_as_users(runs: list[GroupRun], answers: dict) -> dict:
    """The members of the changed groups as users (whom an author must be to be mirrored, and whose
    extranet flag then matters), read along with the talk rather than after it, when they fit in a few
    lists; authors they leave out are asked after the talk (details._read_users)."""
    members = set()
    for run in runs:
        answer = answers.get((run.gid, "members"))
        if answer and not isinstance(answer, bitrix.BitrixError):
            members |= answer
    lists = chunks(sorted(members))
    return {} if len(lists) > MEMBERS_READ_AHEAD else {("users", i): q_users(chunk) for i, chunk in enumerate(lists)}


def parent_queries(runs: list[GroupRun]) -> tuple[dict, dict[GroupRun, set[int]]]:
    """The parents of listed tasks that the listings left out, every group's in the same lists (a task list
    by id needs no group): the queries, and which parents each group asked for."""
    wanted = {}
    for run in runs:
        tasks = run.listing.tasks
        if run.listing.dirty:
            wanted[run] = {t.parent_id for t in tasks.values()
                           if t.parent_id and t.parent_id not in tasks and t.parent_id != run.config.master_task}
    every = sorted(set().union(*wanted.values())) if wanted else []
    return {("parents", i): q_tasks_by_ids(chunk) for i, chunk in enumerate(chunks(every))}, wanted


def history_has_news(run: GroupRun, task_id: int, waiting: set[int]) -> bool:
    """Whether a changed task's history may hold rows not read yet. A field change (status, deadline, a move)
    moves changedDate and a service comment serviceCommentsCount; talk (a comment, a chat message, a result)
    moves neither, and its history then holds only talk's own rows, which nothing is planned from. A task
    the state does not know whole, or one left pending (held back, held for a digest, cut short), is read
    whole."""
    snap = run.state.tasks.get(str(task_id))
    task = run.listing.tasks[task_id]
    if (not snap or "inside" not in snap or run.listing.first_sync or run.listing.baseline is None
            or run.listing.backfill_starts or task_id in waiting):
        return True
    return (snap.get("changed") != task.changed_date or snap.get("service") != task.service_comments_count
            or snap.get("parent") != task.parent_id or snap.get("group") != task.group_id)


def task_queries(run: GroupRun) -> dict:
    """What a changed task needs read whatever its world: its history (when it may have news) and results."""
    queries = {}
    if run.listing.dirty:
        queries[(run.gid, "members")] = q_members(run.gid)
    waiting = set(pending_tasks(run)) | due_sources(run)
    for task_id in sorted(run.listing.dirty):
        if history_has_news(run, task_id, waiting):
            queries[(run.gid, "history", task_id)] = q_history(task_id)
        queries[(run.gid, "results", task_id)] = q_results(task_id)  # few per task: read whole, to see changes
    return queries


def talk_queries(run: GroupRun, task_ids: list[int]) -> dict:
    """Comments or chat messages of the tasks, in the world each is in."""
    queries = {}
    tasks = run.listing.tasks
    for task_id in task_ids:
        task = tasks[task_id]
        snap = run.snap(task_id)
        if world(run, task) == WORLD_CHAT and not snap.get("last_message_id") and snap.get("walk_back"):
            queries[(run.gid, "chat", task_id)] = q_chat_messages(task_id, task.chat_id, last_id=snap["walk_back"])
        elif world(run, task) == WORLD_CHAT:
            last = int(snap.get("last_message_id") or 0)
            if last and watches_edits(run.config):
                # Edits and deletes change old messages: look at the newest page again.
                queries[(run.gid, "recent", task_id)] = q_chat_messages(task_id, task.chat_id)
            queries[(run.gid, "chat", task_id)] = (
                q_chat_messages(task_id, task.chat_id, first_id=last) if last
                else q_chat_messages(task_id, task.chat_id))
        else:
            last = int(snap.get("last_comment_id") or 0)
            if last and watches_edits(run.config) and _revisit_classic(run, task, snap):
                # Edits and deletes of forum comments move no date: read the whole list again.
                queries[(run.gid, "recent", task_id)] = q_classic_comments(task_id, 0)
            queries[(run.gid, "comments", task_id)] = q_classic_comments(task_id, last)
        if world(run, task) == WORLD_CHAT and forum_has_news(task, snap):
            # Switched to the new card: its forum comments stayed where they were, and may hold news too.
            queries[(run.gid, "forum", task_id)] = q_classic_comments(task_id, int(snap.get("last_comment_id") or 0))
    return queries


def forum_has_news(task: Task, snap: dict) -> bool:
    """A task with a chat that also has forum comments (switched from the classic card) not yet all read."""
    return task.comments_count > 0 and task.comments_count != snap.get("comments")


def _revisit_classic(run: GroupRun, task: Task, snap: dict) -> bool:
    """At a sweep, or when the task's comment count fell (a deletion), for a task with mirrors."""
    fell = task.comments_count < int(snap.get("comments") or 0)
    return (run.listing.full or fell) and run.state.ledger.has_task(task.id, KIND_COMMENT)
