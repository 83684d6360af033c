"""Task-chat memberships and the pages of im.dialog.messages.get, as im lib/chat.php (Chat::getMessages) builds them.

Each participant has a relation: START_ID (the first message they may see; 0 for those who were there from the
start, or when the reading chat_history_for_new_members is "visible") and LAST_ID (the last message they have
read). Posting a message reads the chat up to it; reading through REST never marks anything read.

A page without FIRST_ID and LAST_ID depends on the caller's unread messages:
- more unread than LIMIT: the LIMIT oldest unread messages (newest first), then up to LIMIT messages before the
  first unread one (newest first);
- otherwise: the newest LIMIT + unread messages.
With FIRST_ID (any value, 0 included): messages after it, oldest first. With LAST_ID: messages before it (0: no
bound), newest first. Unread does not matter then."""
from __future__ import annotations

from typing import TYPE_CHECKING

from b24mirror.fakeportal.model import Chat, Message, Relation, Task

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.fakeportal.portal import FakePortal


def sync_relations(portal: "FakePortal", task: Task) -> None:
    """Give new participants a relation and drop those who left; call after every change of participants."""
    chat = portal.chats.get(task.chat_id) if task.chat_id else None
    if chat is None:
        return
    members = task.participants()
    for uid in [u for u in chat.relations if u not in members]:
        del chat.relations[uid]
    last = chat.messages[-1].id if chat.messages else 0
    hide = portal.reading("chat_history_for_new_members") == "hidden" and bool(chat.messages)
    for uid in sorted(members - set(chat.relations)):
        chat.relations[uid] = Relation(portal._next("relation"), uid, last + 1 if hide else 0, last)


def mark_read(chat: Chat, uid: int, message_id: int) -> None:
    rel = chat.relations.get(uid)
    if rel is not None and message_id > rel.last_read:
        rel.last_read = message_id


def unread(chat: Chat, uid: int) -> list[Message]:
    rel = chat.relations.get(uid)
    if rel is None:
        return []
    return [m for m in _visible(chat, rel) if m.id > rel.last_read]


def is_unread(chat: Chat, uid: int, msg: Message) -> bool:
    rel = chat.relations.get(uid)
    return rel is not None and msg.id > rel.last_read


def _visible(chat: Chat, rel: Relation | None) -> list[Message]:
    start = rel.start_id if rel else 0
    return sorted((m for m in chat.messages if m.id >= start), key=lambda m: m.id)


def _before(msgs: list[Message], last: int | None, limit: int) -> list[Message]:
    """Newest first, below `last` (None or 0: no upper bound)."""
    return [m for m in reversed(msgs) if not last or m.id < last][:limit]


def page(chat: Chat, uid: int, first: int | None, last: int | None, limit: int) -> list[Message]:
    rel = chat.relations.get(uid)
    msgs = _visible(chat, rel)
    if first is not None:
        return [m for m in msgs if m.id > first][:limit]
    if last is not None:
        return _before(msgs, last, limit)
    waiting = unread(chat, uid)
    if len(waiting) > limit:
        oldest_unread = waiting[:limit]
        return list(reversed(oldest_unread)) + _before(msgs, waiting[0].id, limit)
    return _before(msgs, None, limit + len(waiting))
