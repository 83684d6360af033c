"""Phase 1½, worlds: is a changed task's talk in its chat (new card) or in the forum (classic)?

A task list may leave `chatId` out (the harder reading of a real portal), so a task without
one is not taken for classic: its chat is looked up with `tasks.task.get` (select CHAT_ID),
fifty tasks to a request — a chat id is kept in the task's snapshot for good; "classic" only until
the task's activity moves again (the card switch, below). A task
whose world cannot be told this run is not read and keeps its snapshot: it is asked again
next run, with a warning naming it, never read silently as classic.

The card switch: a group can move to the new card while b24mirror runs, and a task it knew as classic
then gets a chat (lazily) and talks on there, its forum comments staying where they were. A chat
message moves the task's activityDate, so a task known as classic whose activity moved is asked
again; on a portal whose lists carry chatId, the list says it. Such a task is read in both worlds
(details.py: its chat, and its forum while the forum has news).
"""
from __future__ import annotations

from dataclasses import replace

from b24mirror import bitrix
from b24mirror.policy.models import WORLD_CHAT, WORLD_CLASSIC
from b24mirror.portal import q_task_chat_id
from b24mirror.sync.common import Context, describe
from b24mirror.sync.records import GroupRun

LISTS_CARRY_CHAT_ID = "lists_carry_chat_id"  # group meta: a list was seen carrying a chatId


def recall_chats(run: GroupRun) -> None:
    """Give listed tasks the chat ids their snapshots remember, before they are compared with them."""
    tasks = run.listing.tasks
    if any(task.chat_id for task in tasks.values()):
        run.state.meta[LISTS_CARRY_CHAT_ID] = True
    for task_id, task in tasks.items():
        remembered = run.snap(task_id).get("chat")
        if not task.chat_id and isinstance(remembered, int) and remembered:
            tasks[task_id] = replace(task, chat_id=remembered)


def known_world(run: GroupRun, task_id: int) -> str | None:
    task = run.listing.tasks[task_id]
    if run.config.comments_source == "classic":
        return WORLD_CLASSIC
    if task.chat_id:
        return WORLD_CHAT
    snap = run.snap(task_id)
    if run.state.meta.get(LISTS_CARRY_CHAT_ID) and run.config.comments_source == "auto":
        return WORLD_CLASSIC  # this portal's lists say chatId when there is one
    if snap.get("world") == WORLD_CLASSIC and run.config.comments_source == "auto" and not may_have_switched(task, snap):
        return WORLD_CLASSIC  # a chat is known by its id, recalled from the snapshot (recall_chats)
    return None


def may_have_switched(task, snap: dict) -> bool:
    """A task known as classic whose activity moved may have a chat now (the card switch): ask again."""
    return snap.get("activity") != task.activity_date


def world_queries(runs: list[GroupRun]) -> dict:
    """The chat look-ups of the changed tasks whose world is not known (keys: (run, task id)); the known
    ones are set at once. They ride in the details' first batch (details.read_details)."""
    queries = {}
    for run in runs:
        for task_id in sorted(run.listing.dirty):
            world = known_world(run, task_id)
            if world is None:
                queries[(run, task_id)] = q_task_chat_id(task_id)
            else:
                run.listing.worlds[task_id] = world
    return queries


def take_worlds(ctx: Context, answers: dict) -> None:
    for (run, task_id), chat_id in answers.items():
        _take(ctx, run, task_id, chat_id)


def _take(ctx: Context, run: GroupRun, task_id: int, chat_id) -> None:
    listing = run.listing
    if isinstance(chat_id, bitrix.BitrixError):
        listing.unresolved.add(task_id)
        run.report.warnings.append(
            f"task {task_id}: could not tell whether its comments are in a chat ({describe(chat_id)}); "
            f"it is read next run")
    elif chat_id:
        listing.tasks[task_id] = replace(listing.tasks[task_id], chat_id=chat_id)
        listing.worlds[task_id] = WORLD_CHAT
    elif run.config.comments_source == "chat":
        listing.unresolved.add(task_id)
        run.report.warnings.append(
            f"task {task_id}: no task chat found for it (comments: chat is set for group {run.gid}); "
            f"if it is a classic task set comments: auto, else add user {ctx.me} to the task")
    else:
        listing.worlds[task_id] = WORLD_CLASSIC
