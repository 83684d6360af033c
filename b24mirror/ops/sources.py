"""What `audit` reads of a group afresh: the mirrors present in the target, the comment world of every task,
and every comment and history row of the tasks that matter, as the sync would read them (sync/worlds.py,
sync/details.py)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from b24mirror import bitrix
from b24mirror.config.settings import GroupConfig
from b24mirror.policy.digest import trusted_in
from b24mirror.policy.models import WORLD_CHAT, Comment, Marker, Task, parse_date, readable_date
from b24mirror.policy.render.startnote import trusted_starts
from b24mirror.portal import PAGE, Portal, q_chat_messages, q_classic_comments, q_history, q_results, reading_world
from b24mirror.state import GroupState
from b24mirror.sync.masters import baselines_in
from b24mirror.sync.worlds import LISTS_CARRY_CHAT_ID


def resolve_worlds(portal: Portal, group: GroupConfig, gstate: GroupState | None,
                    tasks: dict[int, Task]) -> dict[int, tuple[str, str]]:
    """Give tasks listed without a chat id the one they have, as the sync does (sync/worlds.py): the
    task's snapshot remembers it, or the portal's chat look-up says. Returns the tasks whose world cannot be
    told.

    The look-up is `im.chat.get`, which creates nothing: `tasks.task.get` would give every switched task the
    audit asks about a chat and its system notices (chat_for_switched_task=on_get), a write people see,
    from a command that must change nothing. A task without a chat yet is read in its forum, as it is."""
    if group.comments_source == "classic":
        return {}
    snaps = gstate.tasks if gstate is not None else {}
    lists_say = bool(gstate is not None and gstate.meta.get(LISTS_CARRY_CHAT_ID)) or any(
        t.chat_id for t in tasks.values() if t.id != group.master_task)  # the master was read by tasks.task.get
    ask = []
    for task_id, task in tasks.items():
        if task.chat_id or task_id == group.master_task:
            continue
        snap = snaps.get(str(task_id)) or {}
        if isinstance(snap.get("chat"), int) and snap["chat"]:
            tasks[task_id] = replace(task, chat_id=snap["chat"])
        elif group.comments_source == "auto" and lists_say:
            continue  # else even a task known as classic is asked: it may have switched to the new card
        else:
            ask.append(task_id)
    unreadable = {}
    for task_id, chat_id in portal.existing_chats(ask).items():
        if isinstance(chat_id, bitrix.BitrixError):
            unreadable[task_id] = (f"could not tell whether its comments are in a chat ({chat_id})",
                                   "run the audit again; if it persists, b24mirror check names the cause")
        elif chat_id:
            tasks[task_id] = replace(tasks[task_id], chat_id=chat_id)
        elif group.comments_source == "chat":
            unreadable[task_id] = (f"no task chat found for it (comments: chat is set for group {group.id})",
                                   f"if it is a classic task set comments: auto, else add user "
                                   f"{portal.own_user_id} to task {task_id}")
    return unreadable


def read_sources(portal: Portal, group: GroupConfig, master: Task, tasks: dict[int, Task], unreadable: dict):
    """Every comment and history row of every task that matters: the subtree, and mirrored strays.

    A task whose reads fail is left out whole (as the sync leaves it unread) and added to `unreadable`."""
    wanted = [t for t in tasks.values() if t.id != master.id and t.id not in unreadable]
    queries = {}
    for task in wanted:
        queries[("history", task.id)] = q_history(task.id)
        queries[("results", task.id)] = q_results(task.id)
        if reading_world(group.comments_source, task) == WORLD_CHAT:
            queries[("talk", task.id)] = q_chat_messages(task.id, task.chat_id)
            if task.comments_count:  # switched from the classic card: its forum comments stayed
                queries[("forum", task.id)] = q_classic_comments(task.id)
        else:
            queries[("talk", task.id)] = q_classic_comments(task.id)
    answers = portal.run(queries)
    comments: dict[int, list[Comment]] = {}
    history, results = {}, {}
    for task in wanted:
        rows, talk, forum = answers[("history", task.id)], answers[("talk", task.id)], answers.get(("forum", task.id), [])
        outcomes = answers[("results", task.id)]
        failed = next((a for a in (talk, rows, forum, outcomes) if isinstance(a, bitrix.BitrixError)), None)
        if failed is not None:
            unreadable[task.id] = _unreadable(portal, group, task, failed)
            continue
        history[task.id] = rows
        results[task.id] = outcomes
        comments[task.id] = forum + _whole_chat(portal, task, talk) if reading_world(
            group.comments_source, task) == WORLD_CHAT else talk
    return comments, history, results


def _unreadable(portal: Portal, group: GroupConfig, task: Task, error: bitrix.BitrixError) -> tuple[str, str]:
    me = portal.own_user_id
    if isinstance(error, bitrix.PermissionDenied) and reading_world(group.comments_source, task) == WORLD_CHAT:
        return (f"user {me} is not a participant of its chat: its comments cannot be read or compared",
                f"add user {me} as an observer of task {task.id}, or set auto_observe: true for group {group.id}")
    return f"could not be read ({error})", "run the audit again; if it persists, b24mirror check names the cause"


def _whole_chat(portal: Portal, task: Task, page) -> list[Comment]:
    messages = list(page.messages)
    while page.raw_count >= PAGE and page.messages:
        page = portal.one(q_chat_messages(task.id, task.chat_id, last_id=min(m.id for m in page.messages)))
        messages.extend(page.messages)
    return sorted({m.id: m for m in messages}.values(), key=lambda m: m.id)


def present_mirrors(portal: Portal, master: Task) -> dict[Marker, list[int]]:
    """Mirrors in the master: marker -> ids of our own user's comments carrying exactly that one marker."""
    return present_with_start(portal, master)[0]


def present_with_start(portal: Portal, master: Task):
    """Mirrors in the master (marker -> comment ids, oldest first; a digest stands for each of its items),
    when mirroring began (the baseline the markers and our start note carry, `~since=`, else the oldest
    mirror's date), and the mirrors' texts by comment id (audit judges them against the rules as they are now)."""
    found: dict[Marker, list[int]] = {}
    oldest, recorded, texts = None, [], {}
    comments = sorted(portal.master_comments(master, 0), key=lambda c: c.id)
    recorded.extend(since for since, _ in trusted_starts(comments, portal.own_user_id))
    for comment in comments:
        markers = trusted_in(comment, portal.own_user_id)
        for marker in markers:
            # A mirror left in the forum of a master switched to the new card is there, but no method reaches
            # it any more (task.commentitem.delete does not work on the new card): never offered for deletion.
            ids = found.setdefault(marker, [])
            if comment.world == master.world:
                ids.append(comment.id)
                texts[comment.id] = comment.text
        if markers:
            recorded.extend(baselines_in(comment.text))
            if readable_date(comment.date):
                date = parse_date(comment.date)
                oldest = date if oldest is None or date < oldest else oldest
    return found, datetime.fromtimestamp(min(recorded), tz=timezone.utc) if recorded else oldest, texts
