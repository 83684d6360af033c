"""Which source items may reach the master task, and why not.

Pure functions: each verdict is None (eligible) or one of the REASON_* strings, which the
planner counts in `Plan.skipped` and the report prints.

Text rules (`hide`) are judged on the reader text (`render.reader_text`): the comment as it
will read in the mirror, BBCode tags removed, invisible characters removed, entities
decoded, so no tag or zero-width character can split a word a rule looks for.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

from .models import WORLD_CHAT, Comment, HistoryEvent, User, parse_date
from .render import reader_text
from .settings import Rules

REASON_NOT_MEMBER = "not a group member"
REASON_EXTRANET = "extranet user"
REASON_EXCLUDED_AUTHOR = "excluded author"
REASON_NOT_INCLUDED = "author not included"
REASON_HIDDEN = "hidden by rule"
REASON_SYSTEM = "system comment"
REASON_OWN = "b24mirror's own"
REASON_EVENT_KIND = "event kind not mirrored"
REASON_EMPTY = "empty"

# The classic REST API returns the portal's service comments as ordinary rows whose text
# is already rendered, with no flag. These are the wordings the portal uses (Russian and
# English). Matched with re.search against the comment text (leading whitespace
# stripped). A module-level tuple: callers may extend it, e.g.
#     rules.SERVICE_COMMENT_PATTERNS += (re.compile(r"^Чек-лист"),)
SERVICE_COMMENT_PATTERNS: tuple[re.Pattern, ...] = (
    re.compile(
        r"^(Задача|Task) (завершена|completed|возобновлена|renewed|отложена|deferred|отклонена|declined"
        r"|принята|accepted|почти просрочена|almost overdue|просрочена|overdue)\b",
        re.IGNORECASE,
    ),
    re.compile(r"^(Крайний срок изм[её]н[её]н|Deadline changed|Task deadline changed)", re.IGNORECASE),
    re.compile(r"^(Изм[её]н[её]н ответственный|Responsible person changed)", re.IGNORECASE),
    re.compile(r"^(Задача создана|Task created)", re.IGNORECASE),
    # System chat messages (and rendered service comments) name users this way.
    re.compile(r"\[USER=\d+ REPLACE\]", re.IGNORECASE),
)

# History fields and the event kinds of `Rules.events` they belong to.
EVENT_FIELDS = {
    "STATUS": "status",
    "REAL_STATUS": "status",
    "DEADLINE": "deadline",
    "RESPONSIBLE_ID": "responsible",
    "TITLE": "title",
}


def is_system_comment(comment: Comment, patterns: Iterable[re.Pattern] | None = None) -> bool:
    """True for the portal's own messages rather than a person's.

    Chat world: author 0 or the `system` flag (set from the message's params).
    Classic world: the same, or the text matches SERVICE_COMMENT_PATTERNS.
    """
    if comment.author_id == 0 or comment.system:
        return True
    if comment.world == WORLD_CHAT:
        return False
    text = (comment.text or "").lstrip()
    for pattern in SERVICE_COMMENT_PATTERNS if patterns is None else patterns:
        if re.search(pattern, text):
            return True
    return False


def _is_empty(comment: Comment, text: str) -> bool:
    return not text.strip() and not comment.attachments


def comment_verdict(
    comment: Comment,
    *,
    members: Collection[int] | None,
    users: Mapping[int, User],
    own_user_id: int | None,
    rules: Rules,
) -> str | None:
    """None when the comment may be mirrored; else the first reason it may not.

    An empty `members` keeps every author out; None means the caller does not know the
    members, and membership is then not judged.
    """
    if own_user_id is not None and comment.author_id == own_user_id:
        return REASON_OWN
    if is_system_comment(comment):
        return REASON_SYSTEM
    if members is not None and comment.author_id not in members:
        return REASON_NOT_MEMBER
    user = users.get(comment.author_id)
    if rules.exclude_extranet and user is not None and user.extranet:
        return REASON_EXTRANET
    if rules.include_authors and comment.author_id not in rules.include_authors:
        return REASON_NOT_INCLUDED
    if comment.author_id in rules.exclude_authors:
        return REASON_EXCLUDED_AUTHOR
    text = reader_text(comment.text)
    # The reader text, its quoted lines without their "» " lead, and the raw source: a rule
    # written against the BBCode keeps working, and `^` finds a quoted line's start.
    judged = (text, reader_text(comment.text, quote_prefix=""), comment.text or "")
    if any(re.search(pattern, value) for pattern in rules.hide_patterns for value in judged):
        return REASON_HIDDEN
    if not rules.mirror_comments:
        return REASON_HIDDEN
    if comment.deleted or _is_empty(comment, text):
        return REASON_EMPTY
    return None


def event_kind(event: HistoryEvent) -> str | None:
    """The `Rules.events` kind of a history row, or None for fields we never mirror."""
    return EVENT_FIELDS.get((event.field or "").upper())


def _same_value(kind: str | None, before: str | None, after: str | None) -> bool:
    left, right = str(before or "").strip(), str(after or "").strip()
    if kind in ("deadline", "responsible", "status"):
        left = "" if left == "0" else left
        right = "" if right == "0" else right
    if left == right:
        return True
    if kind == "deadline" and left and right:
        try:
            return parse_date(left) == parse_date(right)
        except ValueError:
            return False
    return False


def event_verdict(event: HistoryEvent, *, rules: Rules) -> str | None:
    """None when the row's kind is in `rules.events` and it changes something."""
    kind = event_kind(event)
    if kind is None or kind not in rules.events:
        return REASON_EVENT_KIND
    if _same_value(kind, event.before, event.after):
        return REASON_EMPTY
    return None


def dedupe_status_rows(events: Iterable[HistoryEvent]) -> list[HistoryEvent]:
    """Drop a REAL_STATUS row when a STATUS row of the same task, value and date exists.

    Some portals write both rows for one status change; the order of the rest is kept.
    """
    rows = list(events)
    status_keys = {
        (row.task_id, str(row.after or "").strip(), row.date)
        for row in rows
        if (row.field or "").upper() == "STATUS"
    }
    return [
        row
        for row in rows
        if not (
            (row.field or "").upper() == "REAL_STATUS"
            and (row.task_id, str(row.after or "").strip(), row.date) in status_keys
        )
    ]
