"""The start note: one comment in a target saying from when it receives the subtasks' comments and events.

It carries the lane's baseline in a token of its own, `b24m:start:GROUP~since=UNIX`, hidden as the fragment
of its link as a mirror's marker is. The token is no mirror marker (models.MARKER_RE does not match it), so
nothing that counts or judges mirrors takes it for one; and, like a marker, it counts only on a comment of
b24mirror's own user carrying exactly one: a person pasting it moves no baseline (and quoted text is defanged,
safety.defang).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from ..models import MasterComment
from .dates import format_date
from .links import link, task_url

START_RE = re.compile(r"b24m:start:(\d+)~since=(\d+)")

WORDS = {
    "en": "{link}: from {date} this task receives the comments and events of the project's subtasks; "
          "nothing older is mirrored",
    "ru": "{link}: с {date} в эту задачу приходят комментарии и события подзадач проекта; "
          "более ранние не переносятся",
}


def start_token(group_id: int, since: datetime) -> str:
    return f"b24m:start:{group_id}~since={max(0, int(since.timestamp()))}"


def render_start_note(*, group_id: int, since: datetime, target_id: int, target_group_id: int, portal_url: str,
                      language: str, flavour: str) -> str:
    url = task_url(portal_url, target_id, group_id=target_group_id) + "#" + start_token(group_id, since)
    words = WORDS.get(language, WORDS["ru"])
    return words.format(link=link(url, "b24mirror", flavour), date=format_date(since.isoformat()))


def trusted_starts(comments: Iterable[MasterComment], me: int) -> list[tuple[int, MasterComment]]:
    """The baselines (unix seconds) our own start notes carry, each with its comment: written by our user,
    exactly one token each, and no mirror (whose quoted text a person's paste could slip into)."""
    found = []
    for comment in comments:
        tokens = START_RE.findall(comment.text or "") if comment.author_id == me and not comment.markers else []
        if len(tokens) == 1:
            found.append((int(tokens[0][1]), comment))
    return found
