"""What to do with mirrors whose source chat message was edited or deleted. Pure.

The new task card flags edited and deleted chat messages; forum (classic) comments carry no
flag, so a sweep reads them again: a text whose hash differs from the one mirrored was edited,
a mirrored comment no longer listed was deleted. A group's `on_edit` and `on_delete` policies
say whether the mirror follows. Each mirror remembers a short hash
of the source text it was made from, so an edit is applied once, not on every run.

A rewrite is a write like a first post: the edited message must pass the same verdict
(`plan.comment_reason`). One that no longer does is withdrawn — its mirror rewritten to a
neutral line that keeps the marker — once, and never rewritten with the new text.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from b24mirror.policy import render
from b24mirror.policy.markers import is_mirrored, old_form, talk_marker
from b24mirror.policy.models import WORLD_CHAT, Comment, Marker, Task, User
from b24mirror.policy.plan import comment_mirror, comment_reason
from b24mirror.config.settings import GroupConfig

DELETED = "deleted"  # the hash recorded once a mirror has been marked as deleted
WITHDRAWN = "withdrawn"  # the hash recorded once a mirror has been withdrawn
FINAL = (DELETED, WITHDRAWN)  # a mirror in one of these states is not rewritten again


@dataclass(frozen=True)
class PlannedUpdate:
    marker: Marker
    mirror_id: int
    text: str
    source_hash: str


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def plan_updates(
    group: GroupConfig, master: Task, task: Task, messages: Iterable[Comment], *,
    ledger: Mapping[str, dict], hashes: Mapping[str, str], users: Mapping[int, User], portal_url: str,
    members: Collection[int] | None = None, tasks: Mapping[int, Task] | None = None,
    own_user_id: int | None = None, target: Task | None = None, forums: Mapping[int, frozenset[int]] | None = None,
) -> list[PlannedUpdate]:
    """Mirror updates for the edited or deleted messages among `messages` of one subtask.

    `members`, `tasks` (every task known, for the subtree) and `own_user_id` are what the
    verdict needs beyond the group's rules; pass them, or those rules go unchecked. `forums`: the forum ids of
    a task with both worlds, read whole (a chat message's old-form marker may be its forum comment's).
    """
    flavour = "chat" if (target or master).world == WORLD_CHAT else "forum"
    updates = []
    for message in messages:
        marker = talk_marker(task.id, message)
        if not ledger.get(str(marker)) and is_mirrored(marker, {old_form(marker)}, task, forums or {}):
            marker = old_form(marker)  # mirrored before `message` existed: its mirror carries the old form
        record = ledger.get(str(marker))
        if not record or not record.get("id") or record.get("digest"):
            continue  # never mirrored, mirrored by a post whose id we do not know, or one item of a digest
        seen = hashes.get(str(marker))
        note = dict(group_id=group.id, language=group.language, flavour=flavour, portal_url=portal_url)
        if message.deleted:
            if group.on_delete == "mark" and seen not in FINAL:
                updates.append(PlannedUpdate(marker, int(record["id"]), render.render_deleted_note(marker, **note),
                                             DELETED))
            continue
        # A forum comment carries no edit flag: its text differing from the one mirrored is the edit.
        edited = message.edited or (message.world != WORLD_CHAT and seen is not None)
        if group.on_edit != "update" or not edited or seen in FINAL:
            continue
        new_hash = source_hash(message.text)
        if seen == new_hash:
            continue
        reason = comment_reason(message, task, group=group, master=master, tasks=tasks, members=members,
                                users=users, own_user_id=own_user_id)
        if reason is not None:
            # The edit put it outside the rules: the mirror must not keep the old text either.
            updates.append(PlannedUpdate(marker, int(record["id"]), render.render_withdrawn_note(marker, **note),
                                         WITHDRAWN))
            continue
        if message.author_id in users and not message.author_name:
            message = replace(message, author_name=users[message.author_id].name)
        text = comment_mirror(task, message, group=group, portal_url=portal_url, flavour=flavour)
        # A mirror keeps the marker it was posted with: the old form stays what the ledger and readers know it by.
        text = text.replace(str(talk_marker(task.id, message)), str(marker))
        updates.append(PlannedUpdate(marker, int(record["id"]), text, new_hash))
    return updates


def watches_edits(group: GroupConfig) -> bool:
    return group.on_edit != "ignore" or group.on_delete != "ignore"
