"""What b24mirror asks of Bitrix24, in its own terms.

Each read is a `Query`: a method, its parameters and a parser from the wire shape to the
models. Queries are run together through `batch`, so one HTTP request can serve many
tasks and many groups. Wire quirks are absorbed here: string ids in task and comment
payloads, ints in chat payloads, `[]` where a map is meant.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Generic, Hashable, Mapping, TypeVar

from b24mirror import bitrix

from b24mirror.models import (
    PORTAL_TIMEZONE,
    WORLD_CHAT,
    WORLD_CLASSIC,
    Attachment,
    Comment,
    HistoryEvent,
    MasterComment,
    Task,
    User,
    find_markers,
)

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
    return [MasterComment(c.id, c.author_id, c.date, c.text, tuple(find_markers(c.text))) for c in comments]


def reading_world(comments_source: str, task: Task) -> str:
    """Where a task's comments are read: its chat (new card) or the forum (classic).

    `auto` decides per task by the chat id; a group may force either world in its config.
    """
    if comments_source == "classic" or (comments_source == "auto" and not task.chat_id):
        return WORLD_CLASSIC
    return WORLD_CHAT


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


def q_history(task_id: int) -> Query[list[HistoryEvent]]:
    return Query("tasks.task.history.list", {"taskId": task_id, "order": {"ID": "asc"}}, parse_history(task_id))


def q_members(group_id: int) -> Query[frozenset[int]]:
    return Query("sonet_group.user.get", {"ID": group_id}, parse_members)


def q_users(ids: list[int]) -> Query[dict[int, User]]:
    return Query("user.get", {"FILTER": {"ID": sorted(ids)}}, parse_users)


def learn_timezone(items) -> None:
    """The portal's time zone, from the offset of its own clock in an answer (`time.date_start`): dates in
    the site format carry none and are read in it."""
    for item in items:
        stamp = (getattr(item, "time", None) or {}).get("date_start")
        try:
            offset = datetime.fromisoformat(str(stamp)).utcoffset() if stamp else None
        except ValueError:
            offset = None
        if offset is not None:
            PORTAL_TIMEZONE.set(timezone(offset))
            return


class Portal:
    """Runs queries (batched) and the few writes b24mirror makes."""

    def __init__(self, client) -> None:
        self.client = client

    @property
    def own_user_id(self) -> int:
        return int(self.client.user_id or 0)

    @property
    def portal_url(self) -> str:
        return self.client.portal_url

    def run(self, queries: Mapping[K, Query]) -> dict[K, Any]:
        """Run every query in as few requests as batch allows; each value is a parsed result or a BitrixError."""
        if not queries:
            return {}
        keys = list(queries)
        commands = {str(i): (queries[k].method, queries[k].params) for i, k in enumerate(keys)}
        answers = self.client.batch(commands)
        learn_timezone(answers.values())
        results: dict[K, Any] = {}
        for i, key in enumerate(keys):
            item = answers[str(i)]
            results[key] = item.error if item.error is not None else _parsed(queries[key], item.result)
        return results

    def run_pages(self, queries: Mapping[K, Query]) -> dict[K, Any]:
        """Like run, but keep each answer's `total`/`next` next to its parsed items."""
        keys = list(queries)
        commands = {str(i): (queries[k].method, queries[k].params) for i, k in enumerate(keys)}
        answers = self.client.batch(commands) if commands else {}
        learn_timezone(answers.values())
        results: dict[K, Any] = {}
        for i, key in enumerate(keys):
            item = answers[str(i)]
            parsed = item.error if item.error is not None else _parsed(queries[key], item.result)
            if isinstance(parsed, bitrix.BitrixError):
                results[key] = parsed
            else:
                results[key] = Page(parsed, item.total, item.next, item.time or {})
        return results

    def all_group_tasks(self, group_id: int) -> list[Task]:
        rows = self.client.list_all("tasks.task.list", {
            "filter": {"GROUP_ID": group_id}, "order": {"ID": "asc"}, "select": TASK_SELECT,
        }, items_key="tasks", id_key="id")
        try:
            return [parse_task(row) for row in _table(rows, "tasks")]
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise BadAnswer("BAD_ANSWER", f"malformed answer ({type(exc).__name__}: {str(exc)[:200]})",
                            method="tasks.task.list") from None

    def group_tasks_many(self, first: Mapping[K, tuple[int, Any]]) -> dict[K, Any]:
        """Every task of several groups, from the first page of each: key -> (group id, the answer to
        q_group_tasks(group, 0) from run_pages). The other pages of all the groups go out together; each
        value is a list of tasks or a BitrixError. A listing that does not add up (the set changed while it
        was paged) is listed again by itself, as all_group_tasks does."""
        rest: dict = {}
        for key, (group_id, page) in first.items():
            if isinstance(page, Page) and page.next is not None and page.total is not None:
                step = page.next if page.next > 0 else PAGE
                for start in range(page.next, page.total, step):
                    rest[(key, start)] = q_group_tasks(group_id, start)
        answers = self.run_pages(rest)
        results: dict[K, Any] = {}
        for key, (group_id, page) in first.items():
            if isinstance(page, bitrix.BitrixError):
                results[key] = page
                continue
            pages = [page] + [answer for (k, _), answer in answers.items() if k == key]
            failed = next((p for p in pages if isinstance(p, bitrix.BitrixError)), None)
            if failed is not None:
                results[key] = failed  # a failed page is an error, never a short list
                continue
            tasks = list({task.id: task for p in pages for task in p.items}.values())
            totals = {p.total for p in pages if p.total is not None}
            if (page.next is None and (page.total is None or len(tasks) >= page.total)) or (
                    page.next is not None and page.total is not None and totals == {page.total}
                    and len(tasks) == page.total):
                results[key] = tasks
                continue
            try:
                results[key] = self.all_group_tasks(group_id)
            except bitrix.BitrixError as exc:
                results[key] = exc
        return results

    def one(self, query: Query[T]) -> T:
        response = self.client.call(query.method, query.params)
        parsed = _parsed(query, response.result)
        if isinstance(parsed, bitrix.BitrixError):
            raise parsed
        return parsed

    # --- writes: never retried blindly; the caller reads back on OutcomeUnknown ----------

    def post_comments(self, master: Task, texts: list[str]) -> list:
        """Post several comments in one request, in order; stops at the first failure (halt).

        Returns one BatchItem per text: `.result` is the new id, or `.error` says why not
        (BATCH_HALTED for those after a failure: they did not run). Raises OutcomeUnknown
        when the request's own outcome is unknown: the caller reads the master back.
        """
        return self.post_many([(master, text) for text in texts])

    def post_many(self, posts: list[tuple[Task, str]]) -> list:
        """post_comments for several masters in one request: (master, text) pairs, run in order with halt."""
        commands = [self._post_command(master, text) for master, text in posts]
        answers = self.client.batch({str(i): command for i, command in enumerate(commands)}, halt=True)
        return [answers[str(i)] for i in range(len(posts))]

    def _post_command(self, master: Task, text: str) -> tuple[str, dict]:
        if master.world == WORLD_CHAT:
            return "im.message.add", {"DIALOG_ID": f"chat{master.chat_id}", "MESSAGE": text, "URL_PREVIEW": "N"}
        return "task.commentitem.add", {"0": master.id, "1": {"POST_MESSAGE": text}}

    def update_comment(self, master: Task, comment_id: int, text: str) -> None:
        if master.world == WORLD_CHAT:
            self.client.call("im.message.update", {"MESSAGE_ID": comment_id, "MESSAGE": text, "URL_PREVIEW": "N"}, write=True)
        else:
            self.client.call("task.commentitem.update", {
                "0": master.id, "1": comment_id, "2": {"POST_MESSAGE": text},
            }, write=True)

    def delete_comment(self, master: Task, comment_id: int) -> None:
        """Delete one of our own comments of the master. One already gone answers an error (the caller reads
        the master back to know: a delete is safe to repeat, and "gone" is what was asked for)."""
        if master.world == WORLD_CHAT:
            self.client.call("im.message.delete", {"MESSAGE_ID": comment_id}, write=True)
        else:
            self.client.call("task.commentitem.delete", {"0": master.id, "1": comment_id}, write=True)

    def add_auditor(self, task: Task, user_id: int) -> None:
        """Append (never replace) the user to the task's observers."""
        auditors = sorted({*task.auditors, user_id})
        self.client.call("tasks.task.update", {"taskId": task.id, "fields": {"AUDITORS": auditors}}, write=True)

    def master_comments_many(self, masters: Mapping[K, tuple[Task, int]]) -> dict[K, Any]:
        """master_comments for several (master, after_id) in one batch; each value is the list or a BitrixError.
        A chat master with more than a page of news reads on by itself."""
        queries = {key: (q_chat_messages(master.id, master.chat_id, first_id=after) if master.world == WORLD_CHAT
                         else q_classic_comments(master.id, after)) for key, (master, after) in masters.items()}
        results: dict[K, Any] = {}
        for key, answer in self.run(queries).items():
            master, after = masters[key]
            if isinstance(answer, bitrix.BitrixError) or master.world != WORLD_CHAT:
                results[key] = answer if isinstance(answer, bitrix.BitrixError) else master_comments_from(answer)
                continue
            fresh = [m for m in answer.messages if m.id > after]
            found = master_comments_from(fresh)
            if answer.raw_count >= PAGE and fresh:
                try:
                    found += self.master_comments(master, max(m.id for m in fresh))
                except bitrix.BitrixError as exc:
                    found = exc
            results[key] = found
        return results

    def master_comments(self, master: Task, after_id: int = 0) -> list[MasterComment]:
        """Comments of the master newer than after_id, by anyone (the caller trusts only its own)."""
        if master.world == WORLD_CHAT:
            found: list[Comment] = []
            first_id = after_id
            while True:
                page = self.one(q_chat_messages(master.id, master.chat_id, first_id=first_id))
                fresh = [m for m in page.messages if m.id > first_id]
                found.extend(fresh)
                if page.raw_count < PAGE or not fresh:
                    break
                first_id = max(m.id for m in fresh)
            return master_comments_from(found)
        return master_comments_from(self.one(q_classic_comments(master.id, after_id)))
