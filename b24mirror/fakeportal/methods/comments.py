"""task.commentitem.* (positional parameters) and REST 3.0 tasks.task.chat.message.send.

On new-card tasks the old methods behave as the migration table says: getlist answers [], add posts a chat
message and returns its id, get/update/delete fail."""
from __future__ import annotations

from typing import Any

from b24mirror.fakeportal import views
from b24mirror.fakeportal.dispatch import Caller, method, to_int
from b24mirror.fakeportal.errors import RestError, V3Error, core_error
from b24mirror.fakeportal.filters import BadFilter, compile_filter, sort_rows
from b24mirror.fakeportal.params import positional

NOT_FOUND = "TASKS_ERROR_EXCEPTION_#512; Comment not found or not accessible; 512/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE."
NOT_ALLOWED = "TASKS_ERROR_EXCEPTION_#4; Action is not allowed; 4/TE/ACTION_NOT_ALLOWED."
COMMENT_FIELDS = {
    "ID": (lambda c: c.id, "int"),
    "AUTHOR_ID": (lambda c: c.author_id, "int"),
    "POST_DATE": (lambda c: c.date, "date"),
}
ORDERABLE = {"ID", "AUTHOR_ID", "AUTHOR_NAME", "AUTHOR_EMAIL", "POST_DATE"}


def _arg(args: list, i: int) -> Any:
    return args[i] if len(args) > i else None


def _task(p, args: list, fn: str, caller: Caller):
    tid = to_int(_arg(args, 0))
    if not tid:
        raise core_error(f"TASKS_ERROR_EXCEPTION_#256; Param #0 (taskId) expected by method ctaskcommentitem::{fn}(), "
                         "but not given.; 256/TE/WRONG_ARGUMENTS")
    task = p.tasks.get(tid)
    if task is None or not p.can_see(task, caller.user_id):
        raise core_error("TASKS_ERROR_EXCEPTION_#8; Action failed; 8/TE/ACTION_FAILED_TO_BE_PROCESSED")
    return task


def _item_id(args: list, fn: str) -> int:
    cid = to_int(_arg(args, 1))
    if not cid:
        raise core_error(f"TASKS_ERROR_EXCEPTION_#256; Param #1 (itemId) expected by method ctaskcommentitem::{fn}(), "
                         "but not given.; 256/TE/WRONG_ARGUMENTS")
    return cid


@method("task.commentitem.getlist", "task")
def getlist(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, args, "getlist", caller)
    order, flt = _arg(args, 1), _arg(args, 2)

    def refuse(what: str, n: int, key: str):
        raise core_error(f"TASKS_ERROR_EXCEPTION_#256; Param #{n} ({what}) for method ctaskcommentitem::getlist() "
                         f"must not contain key \"{key}\".; 256/TE/WRONG_ARGUMENTS.")

    keys = []
    for key, direction in (order.items() if isinstance(order, dict) else []):
        if str(key).upper() not in ORDERABLE:
            refuse("arOrder", 1, key)
        name = str(key).upper()
        getter = (lambda c: c.date) if name == "POST_DATE" else (lambda c: c.author_id) if name == "AUTHOR_ID" \
            else (lambda c, p=p: p.users[c.author_id].full_name if c.author_id in p.users else "") \
            if name == "AUTHOR_NAME" else (lambda c: "") if name == "AUTHOR_EMAIL" else (lambda c: c.id)
        keys.append((getter, str(direction).lower() == "desc"))
    # A task born on the new card has no forum rows ([]); a switched one keeps its old ones, still listed.
    rows = [c for c in task.comments if not c.deleted and not c.topic_start]  # the topic's first message: never
    fields = dict(COMMENT_FIELDS, AUTHOR_NAME=(
        lambda c: p.users[c.author_id].full_name if c.author_id in p.users else "", "str"))
    try:
        keep = compile_filter(flt, fields, p.tz, on_unknown=lambda k: refuse("arFilter", 2, k))
        rows = [c for c in rows if keep(c)]
    except BadFilter as exc:
        raise core_error(f"TASKS_ERROR_EXCEPTION_#256; Wrong filter value for {exc.key}; 256/TE/WRONG_ARGUMENTS")
    rows = sort_rows(rows, keys) if keys else _unordered(rows)
    return [views.comment_row(p, c) for c in rows]  # every row: no paging


def _unordered(rows: list) -> list:
    """No order given: the source sends no ORDER BY, so rows come as the database picks. Modelled as the id order
    rotated by half (two rows: newest first; three: neither way), so a client leaning on any order is caught."""
    rows = sorted(rows, key=lambda c: c.id)
    half = len(rows) // 2
    return rows[half:] + rows[:half]


@method("task.commentitem.get", "task")
def get(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, args, "get", caller)
    comment = None if task.new_card else p.find_comment(task, _item_id(args, "get"))
    if comment is None:
        raise core_error(NOT_FOUND)
    return views.comment_row(p, comment)


def _text(fields: Any) -> str:
    if not isinstance(fields, dict):
        return ""
    for key, value in fields.items():
        if str(key).upper() == "POST_MESSAGE":
            return str(value or "")
    return ""


@method("task.commentitem.add", "task")
def add(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, args, "add", caller)
    fields = _arg(args, 1)
    text = _text(fields)
    if not text.strip():
        raise RestError("ERROR_CORE", "Comment text not specified.<br>", 400)
    # The docs warn: any caller may post as anyone through AUTHOR_ID.
    author = to_int({str(k).upper(): v for k, v in fields.items()}.get("AUTHOR_ID"), caller.user_id) \
        or caller.user_id
    if author not in p.users:
        raise RestError("ERROR_CORE", "Insufficient permissions to add a comment.<br>", 400)
    return p.add_comment(task.id, author, text)


def _own_comment(p, caller: Caller, args: list, fn: str):
    task = _task(p, args, fn, caller)
    if task.new_card:  # the old methods do not reach the task chat
        raise core_error(NOT_ALLOWED)
    comment = p.find_comment(task, _item_id(args, fn))
    if comment is None:
        raise core_error(NOT_FOUND)
    user = p.users[caller.user_id]
    if comment.author_id != caller.user_id and not user.admin:
        raise core_error(NOT_ALLOWED)
    return task, comment


@method("task.commentitem.update", "task")
def update(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task, comment = _own_comment(p, caller, args, "update")
    text = _text(_arg(args, 2))
    if not text.strip():
        raise RestError("ERROR_CORE", "Comment text not specified.<br>", 400)
    p.edit_comment(task.id, comment.id, text)
    return True


@method("task.commentitem.delete", "task")
def delete(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task, comment = _own_comment(p, caller, args, "delete")
    p.delete_comment(task.id, comment.id)
    return True


def _v3_invalid(field: str, text: str) -> V3Error:
    return V3Error("BITRIX_REST_V3_EXCEPTION_VALIDATION_DTOVALIDATIONEXCEPTION", "Error during object validation",
                   [{"message": text, "field": field}], 400)


@method("tasks.task.chat.message.send", "tasks", v3=True)
def chat_message_send(p, caller: Caller, params: Any) -> Any:
    fields = params.get("fields") if isinstance(params, dict) else None
    if not isinstance(fields, dict):
        raise V3Error("BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION",
                      "Error validating request object",
                      [{"message": "Required field `fields` is not specified", "field": "fields"}], 400)
    tid = to_int(fields.get("taskId"))
    if not tid:
        raise _v3_invalid("taskId", 'The required field "taskId" is not filled')
    text = fields.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _v3_invalid("text", 'The required field "text" is not filled')
    task = p.tasks.get(tid)
    if task is None or not p.can_see(task, caller.user_id):
        raise V3Error("BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION", "Access denied", status=403)
    p.open_card(task)
    if not task.new_card:
        raise V3Error("BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION", "Task chat not found", status=400)
    # Any user who can read the task may post; no message id comes back.
    p.post_message(p.chats[task.chat_id], caller.user_id, text)
    return {"result": True}
