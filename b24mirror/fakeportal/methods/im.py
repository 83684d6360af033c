"""im.* (scope im): task chats. Ints everywhere; only chat participants may read or post."""
from __future__ import annotations

import re
from typing import Any

from b24mirror.fakeportal import chatpages, views
from b24mirror.fakeportal.dispatch import Caller, method, to_int
from b24mirror.fakeportal.errors import RestError, access_error
from b24mirror.fakeportal.params import ci_get

DEFAULT_LIMIT, MAX_LIMIT = 20, 50


def _chat(p, caller: Caller, dialog: Any):
    if dialog in (None, ""):
        raise RestError("DIALOG_ID_EMPTY", "Dialog ID can't be empty", 400)
    m = re.fullmatch(r"chat(\d+)", str(dialog).strip())
    chat = p.chats.get(int(m.group(1))) if m else None
    if chat is None or not p.in_chat(chat, caller.user_id):
        raise access_error()  # admins are no exception: task chats are for their participants
    return chat


def _cursor(params: dict, name: str) -> int | None:
    raw = ci_get(params, name)
    if raw in (None, ""):
        return None
    value = to_int(raw) if str(raw).strip().lstrip("-").isdigit() else None
    if value is None:
        raise RestError(f"{name}_STRING", f"{name.replace('_', ' ').title().replace('Id', 'ID')} can't be string", 400)
    return value


@method("im.dialog.messages.get", "im")
def dialog_messages_get(p, caller: Caller, params: dict) -> Any:
    chat = _chat(p, caller, ci_get(params, "DIALOG_ID"))
    first, last = _cursor(params, "FIRST_ID"), _cursor(params, "LAST_ID")
    limit = to_int(ci_get(params, "LIMIT"), DEFAULT_LIMIT) or DEFAULT_LIMIT
    limit = max(1, min(limit, MAX_LIMIT))
    rows = chatpages.page(chat, caller.user_id, first, last, limit)  # reading never marks the chat read
    authors = sorted({m.author_id for m in rows if m.author_id})
    return {"chat_id": chat.id,
            "messages": [views.message(p, m, chatpages.is_unread(chat, caller.user_id, m)) for m in rows],
            "users": [views.im_user(p, p.users[u]) for u in authors if u in p.users],
            "files": [views.chat_file(p, fid, p.chat_files[fid]) for m in rows
                      for fid in m.params.get("FILE_ID", []) if fid in p.chat_files]}


@method("im.message.add", "im")
def message_add(p, caller: Caller, params: dict) -> Any:
    dialog = ci_get(params, "DIALOG_ID")
    text = ci_get(params, "MESSAGE")
    if dialog in (None, ""):
        raise RestError("DIALOG_ID_EMPTY", "Dialog ID can't be empty", 400)
    if text in (None, "") or not str(text).strip():
        raise RestError("MESSAGE_EMPTY", "Message can't be empty", 400)
    chat = _chat(p, caller, dialog)
    return p.post_message(chat, caller.user_id, str(text)).id


def _own_message(p, caller: Caller, params: dict):
    mid = to_int(ci_get(params, "MESSAGE_ID"))
    if not mid:
        raise RestError("MESSAGE_ID_ERROR", "Message ID can't be empty", 400)
    msg = p.find_message(mid)
    if msg is None or msg.author_id != caller.user_id or msg.deleted or \
            not p.in_chat(p.chats[msg.chat_id], caller.user_id):
        raise RestError("CANT_EDIT_MESSAGE", "Time has expired for modification or you don't have access", 400)
    return msg


@method("im.message.update", "im")
def message_update(p, caller: Caller, params: dict) -> Any:
    msg = _own_message(p, caller, params)
    text = ci_get(params, "MESSAGE")
    if text in (None, "") or not str(text).strip():
        p.delete_message(msg)  # the portal reads an empty update as a delete
    else:
        p.edit_message(msg, str(text))
    return True


@method("im.message.delete", "im")
def message_delete(p, caller: Caller, params: dict) -> Any:
    p.delete_message(_own_message(p, caller, params))
    return True


@method("im.chat.get", "im")
def chat_get(p, caller: Caller, params: dict) -> Any:
    entity_type = str(ci_get(params, "ENTITY_TYPE") or "")
    entity_id = to_int(ci_get(params, "ENTITY_ID"))
    if not entity_type or not entity_id:
        raise RestError("ENTITY_TYPE_EMPTY" if not entity_type else "ENTITY_ID_EMPTY",
                        "Entity type and entity id can't be empty", 400)
    # A plain look-up in the chat table by entity (im CIMRestService::chatGet): it checks no membership and
    # creates nothing, so a switched task whose chat nobody has opened yet has none to give.
    task = p.tasks.get(entity_id) if entity_type == "TASKS_TASK" else None
    if task is None or not task.new_card:
        return None
    return {"ID": task.chat_id}
