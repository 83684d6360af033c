"""What b24mirror reads: each a `Query` — a method, its parameters and a parser from the wire shape."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, TypeVar

from b24mirror.policy.models import Comment, HistoryEvent, Result, Task, User
from b24mirror.portal.wire import (ChatPage, _opt_int, parse_chat_messages, parse_classic_comments, parse_history,
                                   parse_members, parse_results, parse_task_get, parse_task_page, parse_users)

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

TASK_SELECT = [
    "ID", "TITLE", "GROUP_ID", "PARENT_ID", "STATUS", "CREATED_BY", "RESPONSIBLE_ID", "CREATED_DATE",
    "CHANGED_DATE", "ACTIVITY_DATE", "DEADLINE", "COMMENTS_COUNT", "SERVICE_COMMENTS_COUNT", "CHAT_ID", "AUDITORS", "ACCOMPLICES",
]
PAGE = 50


@dataclass(frozen=True)
class Query(Generic[T]):
    method: str
    params: dict
    parse: Callable[[Any], T]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list
    total: int | None
    next: int | None
    time: dict = field(default_factory=dict)  # the portal's own clock for this answer (date_start, ...)


# --- queries ---------------------------------------------------------------------------

def q_tasks_by_activity(group_id: int, start: int = 0) -> Query[list[Task]]:
    """The group's tasks, most recently active first: a cheap change signal, one page at a time."""
    return Query("tasks.task.list", {
        "filter": {"GROUP_ID": group_id}, "order": {"ACTIVITY_DATE": "desc", "ID": "desc"},
        "select": TASK_SELECT, "start": start,
    }, parse_task_page)


def q_group_tasks(group_id: int, start: int = 0) -> Query[list[Task]]:
    """Every task of the group, by id, a page at a time: the full listing of a first sync or a sweep."""
    return Query("tasks.task.list", {
        "filter": {"GROUP_ID": group_id}, "order": {"ID": "asc"}, "select": TASK_SELECT, "start": start,
    }, parse_task_page)


def q_tasks_changed_since(group_id: int, since: str) -> Query[list[Task]]:
    return Query("tasks.task.list", {
        "filter": {"GROUP_ID": group_id, ">=CHANGED_DATE": since}, "order": {"ID": "asc"},
        "select": TASK_SELECT, "start": 0,
    }, parse_task_page)


def q_tasks_by_ids(ids: list[int]) -> Query[list[Task]]:
    return Query("tasks.task.list", {
        "filter": {"ID": sorted(ids)}, "order": {"ID": "asc"}, "select": TASK_SELECT, "start": 0,
    }, parse_task_page)


def q_task(task_id: int) -> Query[Task | None]:
    return Query("tasks.task.get", {"taskId": task_id, "select": TASK_SELECT}, parse_task_get)


def q_classic_comments(task_id: int, after_id: int = 0, author_id: int | None = None) -> Query[list[Comment]]:
    # A positional method (TASKID, ORDER, FILTER): numeric keys keep the order in JSON
    # bodies and in batch query strings alike.
    filter_: dict = {">ID": after_id} if after_id else {}
    if author_id is not None:
        filter_["AUTHOR_ID"] = author_id
    return Query("task.commentitem.getlist", {"0": task_id, "1": {"ID": "asc"}, "2": filter_},
                 parse_classic_comments(task_id))


# Without FIRST_ID or LAST_ID a chat page starts at the caller's unread messages (im Chat::getMessages),
# and reading through REST never marks them read: "the newest page" is asked for as the page before an
# id no message reaches.
NEWEST = 2**53 - 1


def q_chat_messages(task_id: int, chat_id: int, *, first_id: int | None = None, last_id: int | None = None) -> Query[ChatPage]:
    """A page of a task chat: forwards from `first_id` (oldest first), or back from `last_id` (newest first;
    the newest page when neither is given). Every read carries a cursor, so unread counts never shape a page."""
    params: dict = {"DIALOG_ID": f"chat{chat_id}", "LIMIT": PAGE}
    if first_id is not None:
        params["FIRST_ID"] = first_id
    else:
        params["LAST_ID"] = NEWEST if last_id is None else last_id
    return Query("im.dialog.messages.get", params, parse_chat_messages(task_id))


def q_task_chat_id(task_id: int) -> Query[int | None]:
    """Whether a task lives in a chat (its chat id) or in the forum (None): task lists need not say
    (no doc sample and no source shows `chatId` in `tasks.task.list`); `tasks.task.get` does."""
    def parse(result: Any) -> int | None:
        task = result.get("task") if isinstance(result, dict) else None
        if not isinstance(task, dict):
            raise ValueError("tasks.task.get answered without a task")
        return _opt_int(task.get("chatId"))

    return Query("tasks.task.get", {"taskId": task_id, "select": ["ID", "CHAT_ID"]}, parse)


def q_existing_task_chat(task_id: int) -> Query[int | None]:
    """A task's chat id if the chat exists, else None, creating nothing: `im.chat.get` by entity is a plain
    look-up (im `chatGet`), where `tasks.task.get` may create a switched task's chat and post its notices
    (the reading chat_for_switched_task=on_get). For the commands that must change nothing people see."""
    def parse(result: Any) -> int | None:
        if result in (None, [], {}, ""):
            return None
        if not isinstance(result, dict):
            raise ValueError("im.chat.get answered with something that is not a chat")
        return _opt_int(result.get("ID"))

    return Query("im.chat.get", {"ENTITY_TYPE": "TASKS_TASK", "ENTITY_ID": task_id}, parse)


def q_history(task_id: int) -> Query[list[HistoryEvent]]:
    return Query("tasks.task.history.list", {"taskId": task_id, "order": {"ID": "asc"}}, parse_history(task_id))


def q_results(task_id: int) -> Query[list[Result]]:
    """A task's results: on both cards, with no paging (a task has few)."""
    return Query("tasks.task.result.list", {"taskId": task_id}, parse_results(task_id))


def q_members(group_id: int) -> Query[frozenset[int]]:
    return Query("sonet_group.user.get", {"ID": group_id}, parse_members)


def q_users(ids: list[int]) -> Query[dict[int, User]]:
    return Query("user.get", {"FILTER": {"ID": sorted(ids)}}, parse_users)


