"""Wire shapes to models: string ids in task and comment payloads, ints in chat payloads, `[]` where a map
is meant, dates kept as the portal sent them. A malformed answer is a failed read, never an empty one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from b24mirror import bitrix
from b24mirror.policy.models import (WORLD_CHAT, WORLD_CLASSIC, Attachment, Comment, HistoryEvent, MasterComment, Result, Task,
                              User, find_markers)

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.portal.queries import Query


# --- parsers: wire shapes to models ----------------------------------------------------

def _int(value: Any, default: int = 0) -> int:
    if value in (None, "", False):
        return default
    return int(value)


def _opt_int(value: Any) -> int | None:
    number = _int(value, 0)
    return number or None


def _ids(value: Any) -> tuple[int, ...]:
    if isinstance(value, dict):  # PHP arrays keyed by position arrive as maps
        value = list(value.values())
    return tuple(int(v) for v in (value or []) if str(v).strip())


def _rows(value: Any) -> list:
    if isinstance(value, dict):
        return list(value.values())
    return list(value or [])


def _table(value: Any, what: str) -> list:
    """Rows of a list answer; anything else is a malformed answer, never "no rows" (that would lose items)."""
    if not isinstance(value, (list, dict)):
        raise ValueError(f"{what} is {type(value).__name__}, not a list")
    rows = _rows(value)
    if not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{what} holds rows that are not objects")
    return rows


class BadAnswer(bitrix.BitrixError):
    """An answer of the wrong shape (wrong types, missing keys). Handled as a failed read: the items it
    should have carried are read again next run, never taken as absent."""


def _parsed(query: "Query", result: Any) -> Any:
    try:
        return query.parse(result)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        return BadAnswer("BAD_ANSWER", f"malformed answer ({type(exc).__name__}: {str(exc)[:200]})",
                         method=query.method)


def parse_task(row: Mapping[str, Any]) -> Task:
    return Task(
        id=int(row["id"]),
        title=str(row.get("title") or ""),
        group_id=_opt_int(row.get("groupId")),
        parent_id=_opt_int(row.get("parentId")),
        status=_int(row.get("status"), 2),
        created_by=_int(row.get("createdBy")),
        responsible_id=_int(row.get("responsibleId")),
        created_date=str(row.get("createdDate") or ""),
        changed_date=str(row.get("changedDate") or ""),
        activity_date=row.get("activityDate") or None,
        deadline=row.get("deadline") or None,
        comments_count=_int(row.get("commentsCount")),
        service_comments_count=_int(row.get("serviceCommentsCount")),
        chat_id=_opt_int(row.get("chatId")),
        auditors=_ids(row.get("auditors")),
        accomplices=_ids(row.get("accomplices")),
        responsible_name=_name_of(row.get("responsible")),
        creator_name=_name_of(row.get("creator")),
    )


def _name_of(person: Any) -> str:
    """The name in the user object the portal sends along with `responsibleId`/`createdBy`."""
    return str(person.get("name") or "") if isinstance(person, dict) else ""


def parse_task_page(result: Any) -> list[Task]:
    if not isinstance(result, dict):
        raise ValueError(f"a task list is {type(result).__name__}, not an object")
    return [parse_task(row) for row in _table(result.get("tasks", []), "tasks")]


def parse_task_get(result: Any) -> Task | None:
    """`tasks.task.get` answers `[]` for a task that is missing or hidden from us; anything else that is not
    `{"task": {...}}` is a malformed answer (raised: read again, never taken for "missing")."""
    if isinstance(result, dict) and isinstance(result.get("task"), dict):
        return parse_task(result["task"])
    if result in ([], {}) or (isinstance(result, dict) and result.get("task") == []):
        return None
    raise ValueError(f"tasks.task.get answered {type(result).__name__} {str(result)[:60]!r}, not a task")


def _attachments(value: Any) -> tuple[Attachment, ...]:
    found = []
    for item in _rows(value):
        if isinstance(item, dict):
            url = item.get("VIEW_URL") or item.get("DOWNLOAD_URL") or item.get("urlShow") or item.get("urlDownload") or ""
            found.append(Attachment(name=str(item.get("NAME") or item.get("name") or "file"), url=str(url)))
    return tuple(found)


def parse_classic_comments(task_id: int) -> Callable[[Any], list[Comment]]:
    def parse(result: Any) -> list[Comment]:
        comments = [
            Comment(
                id=int(row["ID"]),
                task_id=task_id,
                author_id=_int(row.get("AUTHOR_ID")),
                author_name=str(row.get("AUTHOR_NAME") or ""),
                date=str(row.get("POST_DATE") or ""),
                text=str(row.get("POST_MESSAGE") or ""),
                attachments=_attachments(row.get("ATTACHED_OBJECTS")),
                world=WORLD_CLASSIC,
            )
            for row in _table(result, "comments")
        ]
        return sorted(comments, key=lambda c: c.id)

    return parse


def parse_results(task_id: int) -> Callable[[Any], list[Result]]:
    """`tasks.task.result.list`: camelCase rows, ids as ints or strings, `commentId` 0 on the new card."""
    def parse(result: Any) -> list[Result]:
        rows = [Result(id=_int(row.get("id")), task_id=task_id, author_id=_int(row.get("createdBy")),
                       date=str(row.get("createdAt") or ""), updated=str(row.get("updatedAt") or row.get("createdAt") or ""),
                       text=str(row.get("text") or ""), comment_id=_int(row.get("commentId")))
                for row in _table(result, "results")]
        return sorted((r for r in rows if r.id), key=lambda r: r.id)

    return parse


@dataclass(frozen=True)
class ChatPage:
    messages: list[Comment]
    users: dict[int, User]
    raw_count: int  # messages on the page, before any filtering: a full page means "ask again"


def _flag(params: Any, *names: str) -> bool:
    if not isinstance(params, dict):
        return False
    return any(str(params.get(name, "")).upper() in ("Y", "TRUE", "1") for name in names)


def parse_chat_messages(task_id: int) -> Callable[[Any], ChatPage]:
    def parse(result: Any) -> ChatPage:
        if not isinstance(result, dict):
            raise ValueError(f"a chat page is {type(result).__name__}, not an object")
        users = {}
        for user in _rows(result.get("users")):
            if isinstance(user, dict) and "id" in user:
                name = user.get("name") or f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
                users[int(user["id"])] = User(int(user["id"]), str(name), bool(user.get("extranet")), bool(user.get("active", True)))
        files = {int(f["id"]): f for f in _rows(result.get("files")) if isinstance(f, dict) and "id" in f}
        messages = []
        raw = _table(result.get("messages", []), "messages")
        for row in raw:
            params = row.get("params") if isinstance(row.get("params"), dict) else {}
            author = _int(row.get("author_id"))
            attached = [files[int(fid)] for fid in _ids(params.get("FILE_ID")) if int(fid) in files]
            messages.append(Comment(
                id=int(row["id"]),
                task_id=task_id,
                author_id=author,
                author_name=users[author].name if author in users else "",
                date=str(row.get("date") or ""),
                text=str(row.get("text") or ""),
                attachments=_attachments(attached),
                world=WORLD_CHAT,
                system=author == 0 or bool(params.get("CODE")),
                edited=_flag(params, "IS_EDITED"),
                deleted=_flag(params, "IS_DELETED"),
            ))
        messages.sort(key=lambda c: c.id)
        return ChatPage(messages, users, len(raw))

    return parse


def parse_history(task_id: int) -> Callable[[Any], list[HistoryEvent]]:
    def parse(result: Any) -> list[HistoryEvent]:
        if not isinstance(result, dict):
            raise ValueError(f"a history answer is {type(result).__name__}, not an object")
        events = []
        for row in _table(result.get("list", []), "history"):
            value = row.get("value") if isinstance(row.get("value"), dict) else {}
            user = row.get("user") if isinstance(row.get("user"), dict) else {}
            name = " ".join(str(p) for p in (user.get("name"), user.get("lastName")) if p)
            events.append(HistoryEvent(
                id=int(row["id"]),
                task_id=task_id,
                field=str(row.get("field") or ""),
                before=None if value.get("from") in (None, "") else str(value.get("from")),
                after=None if value.get("to") in (None, "") else str(value.get("to")),
                date=str(row.get("createdDate") or ""),
                user_id=_int(user.get("id")),
                user_name=name,
            ))
        return sorted(events, key=lambda e: e.id)

    return parse


def parse_members(result: Any) -> frozenset[int]:
    return frozenset(int(row["USER_ID"]) for row in _table(result, "members"))


def parse_users(result: Any) -> dict[int, User]:
    users = {}
    for row in _rows(result):
        if not isinstance(row, dict):
            continue
        uid = int(row["ID"])
        name = " ".join(str(p) for p in (row.get("NAME"), row.get("LAST_NAME")) if p) or f"#{uid}"
        user_type = str(row.get("USER_TYPE") or "")
        extranet = user_type == "extranet" if user_type else not _rows(row.get("UF_DEPARTMENT"))
        active = row.get("ACTIVE") not in (False, "N", "0", 0)
        users[uid] = User(uid, name, extranet, active)
    return users


def master_comments_from(comments: list[Comment]) -> list[MasterComment]:
    return [MasterComment(c.id, c.author_id, c.date, c.text, tuple(find_markers(c.text)), c.world) for c in comments]


def reading_world(comments_source: str, task: Task) -> str:
    """Where a task's comments are read: its chat (new card) or the forum (classic).

    `auto` decides per task by the chat id; a group may force either world in its config.
    """
    if comments_source == "classic" or (comments_source == "auto" and not task.chat_id):
        return WORLD_CLASSIC
    return WORLD_CHAT


