"""Digests: new items held and posted as one comment per period. Pure: no I/O, no clock.

A digest is one comment carrying one marker per item, each hidden (as today) in the fragment of
the item's subtask link. It opens with its own header link, whose fragment is the token
``b24m-digest:N`` (N = the number of items): only a comment of our own user that *starts* with
that header and carries exactly N markers is a digest, and only then are its several markers
trusted. A person's paste (another author), or our comment with stray markers and no header, stays
untrusted, as before.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable, Mapping

from b24mirror.policy.models import KIND_COMMENT, KIND_RESULT, KIND_SUBTASK, TALK_KINDS, HistoryEvent, Marker, MasterComment, PlannedMirror, parse_date
from b24mirror.policy.render.links import bold, link, task_url
from b24mirror.policy.render.safety import plain
from b24mirror.policy.rules import event_kind
from b24mirror.config.settings import DigestConfig

HEADER_TOKEN = "b24m-digest"
_HEADER_RE = re.compile(r"\A\[url=[^\]]*#" + HEADER_TOKEN + r":(\d+)\]", re.IGNORECASE)
MAX_ITEMS = 20  # items per digest comment: a longer period's news goes out as several digests
STATUS_COMPLETED = "5"
WORDS = {"ru": ("Дайджест", "новых: {n}"), "en": ("Digest", "{n} new")}


@dataclass(frozen=True)
class HeldItem:
    """A planned mirror held for the next digest (as the state keeps it)."""

    marker: Marker
    text: str
    date: str
    task_id: int
    title: str  # the subtask's title when it was held: the digest's heading for its items
    forum: bool = False  # a forum comment: deleted, it is only missing from its task's list (no flag)

    def to_dict(self) -> dict:
        return {"text": self.text, "date": self.date, "task": self.task_id, "title": self.title, "forum": self.forum}

    @classmethod
    def from_dict(cls, key: str, data: Mapping) -> "HeldItem":
        return cls(Marker.parse(key), str(data.get("text", "")), str(data.get("date", "")),
                   int(data.get("task") or 0), str(data.get("title", "")), bool(data.get("forum")))

    @property
    def sort_key(self) -> tuple:
        return (parse_date(self.date), self.marker)

    def as_mirror(self) -> PlannedMirror:
        return PlannedMirror(self.marker, self.text, self.date, self.task_id)


# --- the marker contract -------------------------------------------------------------------

def is_digest(comment: MasterComment) -> bool:
    match = _HEADER_RE.match(comment.text or "")
    return bool(match) and int(match.group(1)) == len(comment.markers) >= 1


def trusted_in(comment: MasterComment, me: int) -> tuple[Marker, ...]:
    """The markers a master comment stands for: our own user's, one marker, or a digest's every marker."""
    if comment.author_id != me or not comment.markers:
        return ()
    if len(comment.markers) == 1 or is_digest(comment):
        return tuple(comment.markers)
    return ()


# --- what waits, and when it is due ----------------------------------------------------------

def is_urgent(mirror: PlannedMirror, config: DigestConfig, events: Mapping[int, HistoryEvent]) -> bool:
    """Whether `digest.now` names this item's kind: it is posted at once, as without a digest."""
    wanted = set(config.now)
    if "all" in wanted:
        return True
    kind = mirror.marker.kind
    if kind in TALK_KINDS:
        return KIND_COMMENT in wanted  # `now: [comment]` names what people wrote, in either world
    if kind == KIND_SUBTASK:
        return kind in wanted
    event = events.get(mirror.marker.source_id)
    if event is None:
        return False
    field_kind = event_kind(event)
    completed = field_kind == "status" and str(event.after or "").strip() == STATUS_COMPLETED
    return field_kind in wanted or (completed and "completed" in wanted)


def due_at(config: DigestConfig | None, held: Iterable[HeldItem]) -> datetime | None:
    """When the held items are due: a period after the oldest of them, or the first time of day after it.

    Dated by the items themselves, so a state rebuilt from the portal finds the same time again."""
    dates = [parse_date(item.date) for item in held]
    if not dates:
        return None
    oldest = min(dates)
    if config is None:
        return oldest  # the digest was switched off: what is held goes out now
    if config.every:
        return oldest + timedelta(seconds=config.every)
    for days in range(2):
        for hour, minute in config.times:
            moment = datetime.combine(oldest.date() + timedelta(days=days), time(hour, minute), tzinfo=oldest.tzinfo)
            if moment > oldest:
                return moment
    return oldest + timedelta(days=1)


# --- the digest comment ---------------------------------------------------------------------

def digests(held: list[HeldItem], *, master_id: int, group_id: int, portal_url: str, language: str,
            flavour: str) -> list[PlannedMirror]:
    """The held items as digest posts: oldest first, MAX_ITEMS per post, grouped by subtask within each."""
    ordered = sorted(held, key=lambda item: item.sort_key)
    posts = []
    for start in range(0, len(ordered), MAX_ITEMS):
        part = ordered[start:start + MAX_ITEMS]
        text = render_digest(part, master_id=master_id, group_id=group_id, portal_url=portal_url, language=language,
                             flavour=flavour)
        posts.append(PlannedMirror(part[0].marker, text, part[-1].date, part[0].task_id,
                                   covers=tuple(item.marker for item in part)))
    return posts


def render_digest(items: list[HeldItem], *, master_id: int, group_id: int, portal_url: str, language: str,
                  flavour: str) -> str:
    title, count = WORDS.get(language, WORDS["en"])
    header_url = task_url(portal_url, master_id, group_id=group_id) + f"#{HEADER_TOKEN}:{len(items)}"
    header = link(header_url, title, flavour)
    lines = [f"{header} · {count.format(n=len(items))}"]
    by_task: dict[int, list[HeldItem]] = {}
    # Results first (the outcome before the chatter), then oldest first; a subtask's group sits where its
    # first item falls.
    for item in sorted(items, key=lambda item: item.marker.kind != KIND_RESULT):
        by_task.setdefault(item.task_id, []).append(item)
    for task_id, group in by_task.items():
        lines.append("")
        lines.append(bold(f"#{task_id} {plain(group[-1].title)}".rstrip(), flavour))
        lines.extend(under_heading(item, task_id) for item in group)
    return "\n".join(lines)


def under_heading(item: HeldItem, task_id: int) -> str:
    """The item without its subtask's name, which the heading above says once: the link (and the marker
    in it) stays, its text "#ID Title" becomes an arrow."""
    return re.sub(rf"\]#{task_id}\b[^\[\n]*(\[/url\])", r"]↗\1", item.text, count=1, flags=re.I)
