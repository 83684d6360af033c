"""Small frozen records that the portal layer produces and the planner consumes.

Every id is an int here, whatever the wire shape was (strings in task and comment
payloads, ints in chat payloads); dates stay the portal's own ISO strings, with their
offsets, because mirrors quote them as the portal sent them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from contextvars import ContextVar
from datetime import datetime, timezone, tzinfo

# Kinds of mirror. The marker format `b24m:KIND:TASK:SOURCE` is a contract read by the
# audit and by other tools: change it only with a migration.
KIND_COMMENT = "comment"  # a forum comment (the classic card); before `message`, chat messages too
KIND_MESSAGE = "message"  # a message of the task chat (the new card): its own id sequence, its own kind
KIND_EVENT = "event"
KIND_SUBTASK = "subtask"
KIND_RESULT = "result"  # a subtask's result: the source id is the result's own id
KINDS = (KIND_COMMENT, KIND_MESSAGE, KIND_EVENT, KIND_SUBTASK, KIND_RESULT)
TALK_KINDS = (KIND_COMMENT, KIND_MESSAGE)  # what people wrote, in either world

MARKER_RE = re.compile(r"b24m:(comment|message|event|subtask|result):(\d+):(\d+)")


def talk_as_comment(kind: str) -> str:
    """How a run's figures count a kind: a chat message is a comment to the people reading them."""
    return KIND_COMMENT if kind in TALK_KINDS else kind


WORLD_CLASSIC = "classic"
WORLD_CHAT = "chat"


@dataclass(frozen=True, order=True)
class Marker:
    """Identifies one mirrored source item: which kind, in which subtask, which item."""

    kind: str
    task_id: int
    source_id: int

    def __str__(self) -> str:
        return f"b24m:{self.kind}:{self.task_id}:{self.source_id}"

    @classmethod
    def parse(cls, token: str) -> "Marker":
        match = MARKER_RE.fullmatch(token)
        if not match:
            raise ValueError(f"not a b24mirror marker: {token!r}")
        return cls(match.group(1), int(match.group(2)), int(match.group(3)))


def find_markers(text: str) -> list[Marker]:
    """Every marker token in a text, in order of appearance."""
    return [Marker(m.group(1), int(m.group(2)), int(m.group(3))) for m in MARKER_RE.finditer(text or "")]


@dataclass(frozen=True)
class User:
    id: int
    name: str
    extranet: bool = False
    active: bool = True


@dataclass(frozen=True)
class Task:
    id: int
    title: str
    group_id: int | None
    parent_id: int | None
    status: int
    created_by: int
    responsible_id: int
    created_date: str
    changed_date: str
    activity_date: str | None = None
    deadline: str | None = None
    comments_count: int = 0
    service_comments_count: int = 0  # the portal's own comments among comments_count (classic)
    chat_id: int | None = None
    auditors: tuple[int, ...] = ()
    accomplices: tuple[int, ...] = ()
    responsible_name: str = ""  # the names the portal sends along with the ids, when it does
    creator_name: str = ""

    @property
    def world(self) -> str:
        return WORLD_CHAT if self.chat_id else WORLD_CLASSIC

    @property
    def participants(self) -> frozenset[int]:
        """Who may read the task's chat on a new-card portal."""
        return frozenset({self.created_by, self.responsible_id, *self.auditors, *self.accomplices})


@dataclass(frozen=True)
class Attachment:
    name: str
    url: str


@dataclass(frozen=True)
class Comment:
    """A comment of either world: a forum comment, or a message of the task chat."""

    id: int
    task_id: int
    author_id: int
    author_name: str
    date: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    world: str = WORLD_CLASSIC
    system: bool = False
    edited: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class Result:
    """A subtask's result (`tasks.task.result.list`): the text marked as its outcome. `comment_id` is the
    forum comment it came from on a classic task, 0 on the new card (which names no chat message)."""

    id: int
    task_id: int
    author_id: int
    date: str
    updated: str
    text: str
    comment_id: int = 0

    def as_comment(self, author_name: str = "") -> Comment:
        """The result as the rules and the renderer read a comment: its author, its date, its text."""
        return Comment(self.id, self.task_id, self.author_id, author_name, self.date, self.text)


@dataclass(frozen=True)
class HistoryEvent:
    """One row of `tasks.task.history.list`."""

    id: int
    task_id: int
    field: str
    before: str | None
    after: str | None
    date: str
    user_id: int
    user_name: str


@dataclass(frozen=True)
class MasterComment:
    """A comment already in the master task, reduced to what dedup and audit need."""

    id: int
    author_id: int
    date: str
    text: str
    markers: tuple[Marker, ...] = ()
    world: str = WORLD_CLASSIC  # a master switched to the new card has comments in both worlds


@dataclass(frozen=True)
class PlannedMirror:
    """One mirror comment the master task is missing."""

    marker: Marker
    text: str
    source_date: str  # the source item's own date: mirrors are posted oldest first
    task_id: int
    covers: tuple[Marker, ...] = ()  # a digest: every item it carries (`marker` is the first of them)

    @property
    def markers(self) -> tuple[Marker, ...]:
        """The markers this post puts in the master: one, or a digest's every item."""
        return self.covers or (self.marker,)

    @property
    def sort_key(self) -> tuple:
        return (parse_date(self.source_date), self.marker)


ELIGIBLE = "eligible"


@dataclass
class Plan:
    mirrors: list[PlannedMirror] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    decisions: dict[Marker, str] = field(default_factory=dict)  # every item considered -> ELIGIBLE or a reason

    def skip(self, reason: str, marker: "Marker | None" = None) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        if marker is not None:
            self.decisions[marker] = reason


# Older box portals answer in the site format (`DD.MM.YYYY HH:MI:SS`, no offset): such a date is
# the portal's wall clock, so it is read in the portal's time zone, learnt from the offset of
# the portal's own clock in its answers (`time.date_start`); see Portal.learn_timezone.
_SITE_DATE_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
PORTAL_TIMEZONE: ContextVar[tzinfo] = ContextVar("portal_timezone", default=timezone.utc)


class BadDate(ValueError):
    """A date the portal sent that b24mirror cannot read: the item carrying it waits, with a warning."""


def parse_date(value: str | None) -> datetime:
    """Parse the portal's dates: ISO 8601 (with offsets), the site format, unix timestamps as strings.

    Raises BadDate (a ValueError) for anything else."""
    if value is None or str(value).strip() == "":
        return EPOCH
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    site = _SITE_DATE_RE.fullmatch(text)
    try:
        if site:
            day, month, year, hour, minute, second = (int(part or 0) for part in site.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=PORTAL_TIMEZONE.get())
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)  # 3.10 lacks Z
    except ValueError:
        raise BadDate(f"unreadable date {text[:40]!r}") from None
    # A bare date (the docs' filter examples use them) has no offset; treat it as UTC so
    # every date we compare is aware.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def readable_date(value: str | None) -> bool:
    try:
        parse_date(value)
    except ValueError:
        return False
    return True


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
