"""Which source a comment's marker stands for, across the two comment worlds. Pure.

A forum comment's mirror carries `b24m:comment:TASK:ID`, a chat message's `b24m:message:TASK:ID`. The platform
numbers forum comments and chat messages in two separate sequences, so a task switched from the classic card to
the new one can have a forum comment and a chat message with the same id: one kind for both would take the later
one for mirrored. Every chat message takes `message`, not only those of tasks with both worlds: a message's world
never changes, so its marker is the same whatever becomes of its task's forum (comments deleted, a lost state).

Mirrors posted before `message` existed marked chat messages `comment` too: the old form. It still counts for the
chat message it was posted for. On a task with both worlds it is ambiguous, and the rule is: the old form
`comment:T:X` is the forum comment X's when task T's forum holds one, else the chat message X's. The card switch
ends a task's forum (every later comment lands in its chat), so forum comment X was there first, its mirror was
posted first, and the old code took chat message X for mirrored: that message is mirrored now, under its own
marker. Telling needs the task's whole forum: `audit` reads it; `sync` reads it whole when a chat message's old
form is in question (sync/forums.py).
"""
from __future__ import annotations

from typing import Collection, Iterable, Mapping

from b24mirror.policy.models import KIND_COMMENT, KIND_MESSAGE, WORLD_CHAT, Comment, Marker, Task


def talk_marker(task_id: int, comment: Comment) -> Marker:
    """The marker of a comment of either world: its kind names the world."""
    return Marker(KIND_MESSAGE if comment.world == WORLD_CHAT else KIND_COMMENT, task_id, comment.id)


def old_form(marker: Marker) -> Marker | None:
    """The marker a chat message's mirror carried before `message` existed; None for any other kind."""
    return Marker(KIND_COMMENT, marker.task_id, marker.source_id) if marker.kind == KIND_MESSAGE else None


def has_both_worlds(task: Task) -> bool:
    """A task with a chat that also has forum comments: switched from the classic card (commentsCount counts
    only the forum's once a task has a chat)."""
    return bool(task.chat_id) and task.comments_count > 0


def forum_ids(comments: Iterable[Comment]) -> frozenset[int]:
    return frozenset(c.id for c in comments if c.world != WORLD_CHAT)


def in_question(marker: Marker, known: Collection[Marker], task: Task | None) -> bool:
    """Whether a chat message's old form is known and may be a forum comment's: its task's forum decides."""
    old = old_form(marker)
    return old is not None and marker not in known and old in known and task is not None and has_both_worlds(task)


def is_mirrored(marker: Marker, known: Collection[Marker], task: Task | None,
                forums: Mapping[int, frozenset[int]]) -> bool:
    """A comment's or message's mirror is known: under its own marker, or (a chat message) under the old form
    when its task's forum does not claim it. `forums`: the forum comment ids of the tasks with both worlds whose
    forum was read whole; one not read leaves the old form counted (posting could make a second mirror, and sync
    reads the forum before it plans: sync/forums.py)."""
    if marker in known:
        return True
    old = old_form(marker)
    if old is None or old not in known:
        return False
    if not in_question(marker, known, task):
        return True
    forum = forums.get(task.id)
    return forum is None or marker.source_id not in forum


def canonical(present: Mapping[Marker, list[int]], comments: Mapping[int, list[Comment]]) -> dict[Marker, list[int]]:
    """The master's markers with each old form that stands for a chat message read as `message` (`audit` reads
    every source of both worlds): what a mirror shows is judged, whatever the form of its marker."""
    worlds: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
    found: dict[Marker, list[int]] = {}
    for marker, ids in present.items():
        if marker.kind == KIND_COMMENT:
            if marker.task_id not in worlds:
                talk = comments.get(marker.task_id, [])
                worlds[marker.task_id] = (forum_ids(talk), frozenset(c.id for c in talk if c.world == WORLD_CHAT))
            forum, chat = worlds[marker.task_id]
            if marker.source_id in chat and marker.source_id not in forum:
                marker = Marker(KIND_MESSAGE, marker.task_id, marker.source_id)
        found.setdefault(marker, []).extend(i for i in ids if i not in found.get(marker, []))
    return found
