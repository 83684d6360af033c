"""What to do with mirrors whose source chat message was edited or deleted. Pure.

The new task card flags edited and deleted chat messages; forum (classic) comments carry no
flag, so a sweep reads them again: a text whose hash differs from the one mirrored was edited,
a mirrored comment no longer listed was deleted. A group's `on_edit` and `on_delete` policies
say whether the mirror follows. Each mirror remembers a short hash
of the source text it was made from, so an edit is applied once, not on every run.

A lost state remembers no hash: the mirrors the master holds are then compared with what would be posted
now, on the part the source decides (its text and files: every line below the header), not the header,
whose task title and names may have changed since without any edit. One that differs is rewritten; one that
matches (or shows a deleted or withdrawn note) only has its hash recorded again.

A rewrite is a write like a first post: the edited message must pass the same verdict
(`plan.comment_reason`). One that no longer does is withdrawn — its mirror rewritten to a
neutral line that keeps the marker — once, and never rewritten with the new text.
"""
from __future__ import annotations

import hashlib
import re
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


_SINCE = re.compile(r"~since=\d+")


@dataclass(frozen=True)
class PlannedUpdate:
    marker: Marker
    mirror_id: int
    text: str
    source_hash: str
    write: bool = True  # False: the mirror already shows this; only its hash is recorded


def source_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def source_part(text: str) -> str:
    """What of a mirror its source decides: every line below the header (its text, its files)."""
    return text.partition("\n")[2]


def _final_shown(shown: str, marker: Marker, note: dict) -> str | None:
    """DELETED or WITHDRAWN when the master shows that note for the mirror, else None."""
    plain = _SINCE.sub("", shown, count=1)
    for final, render_note in ((DELETED, render.render_deleted_note), (WITHDRAWN, render.render_withdrawn_note)):
        if plain == render_note(marker, **note):
            return final
    return None


def plan_updates(
    group: GroupConfig, master: Task, task: Task, messages: Iterable[Comment], *,
    ledger: Mapping[str, dict], hashes: Mapping[str, str], users: Mapping[int, User], portal_url: str,
    members: Collection[int] | None = None, tasks: Mapping[int, Task] | None = None,
    own_user_id: int | None = None, target: Task | None = None, shown: Mapping[str, str] | None = None,
    forums: Mapping[int, frozenset[int]] | None = None,
) -> list[PlannedUpdate]:
    """Mirror updates for the edited or deleted messages among `messages` of one subtask.

    `members`, `tasks` (every task known, for the subtree) and `own_user_id` are what the
    verdict needs beyond the group's rules; pass them, or those rules go unchecked. `shown`: marker -> the
    mirror's text as the master holds it, for mirrors the ledger had no record of (a lost state). `forums`: the
    forum ids of a task with both worlds, read whole (a chat message's old-form marker may be its forum comment's).
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
        mirror_text = (shown or {}).get(str(marker)) if seen is None else None
        final = _final_shown(mirror_text, marker, note) if mirror_text is not None else None
        if final is not None:  # marked or withdrawn before the state was lost: final, as its hash would have said
            updates.append(PlannedUpdate(marker, int(record["id"]), mirror_text, final, write=False))
            continue
        if message.deleted:
            if group.on_delete == "mark" and seen not in FINAL:
                updates.append(PlannedUpdate(marker, int(record["id"]), render.render_deleted_note(marker, **note),
                                             DELETED))
            continue
        # A forum comment carries no edit flag: its text differing from the one mirrored is the edit.
        edited = message.edited or (message.world != WORLD_CHAT and seen is not None) or mirror_text is not None
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
        unchanged = mirror_text is not None and source_part(mirror_text) == source_part(text)
        updates.append(PlannedUpdate(marker, int(record["id"]), text, new_hash, write=not unchanged))
    return updates


def watches_edits(group: GroupConfig) -> bool:
    return group.on_edit != "ignore" or group.on_delete != "ignore"
