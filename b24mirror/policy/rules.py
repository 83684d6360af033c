"""Which source items may reach the master task, and why not.

Pure functions: each verdict is None (eligible) or one of the REASON_* strings, which the
planner counts in `Plan.skipped` and the report prints.

Text rules (`hide`) are judged on the reader text (`render.reader_text`): the comment as it
will read in the mirror, BBCode tags removed, invisible characters removed, entities
decoded, so no tag or zero-width character can split a word a rule looks for.
"""
from __future__ import annotations

import re
from dataclasses import replace
from collections.abc import Collection, Iterable, Mapping

from .models import WORLD_CHAT, Comment, HistoryEvent, User, parse_date
from .render import reader_text
from .shown import hides, only_hidden_files
from b24mirror.config.settings import Rules

REASON_NOT_MEMBER = "not a group member"
REASON_EXTRANET = "extranet user"
REASON_EXCLUDED_AUTHOR = "excluded author"
REASON_NOT_INCLUDED = "author not included"
REASON_HIDDEN = "hidden by rule"
REASON_SYSTEM = "system comment"
REASON_OWN = "b24mirror's own"
REASON_EVENT_KIND = "event kind not mirrored"
REASON_EMPTY = "empty"

# The classic REST API returns the portal's service comments as ordinary rows with no flag
# (tasks lib/integration/forum/task/comment.php stores SERVICE_TYPE, which getlist does not
# return). Two things tell them: the task's serviceCommentsCount together with a field change
# in the task's history at the same second by the same user (mark_service_comments), and the
# portal's own wordings, matched WHOLE — "Задача завершена, акт подписан" is a person's
# sentence, not the service line "Задача завершена". A comment in both languages ("ru / en")
# must match in each. Callers may extend the tuple:
#     rules.SERVICE_COMMENT_TEMPLATES += (re.compile(r"Чек-лист изменён"),)
_DATE = (r"(?:\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?|\d{4}-\d{2}-\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
         r"(?:[+-]\d{2}:?\d{2})?")
_WHO = r"(?:\[USER=\d+\][^\[]*\[/USER\]|[^.]{1,80})"
SERVICE_COMMENT_TEMPLATES: tuple[re.Pattern, ...] = tuple(re.compile(t, re.IGNORECASE) for t in (
    r"(?:Задача|Task) (?:завершена|completed|closed|возобновлена|renewed|reopened|отложена|deferred|отклонена"
    r"|declined|принята|accepted|почти просрочена|almost overdue|просрочена|overdue)",
    r"The task is (?:overdue|almost overdue|completed|deferred|declined|accepted)",
    rf"(?:Крайний срок изм[её]н[её]н|(?:Task )?[Dd]eadline changed)(?:(?: на| to|:) (?:{_DATE}))?",
    rf"(?:Изм[её]н[её]н ответственный|Responsible person changed)(?:(?: на| to|:) {_WHO})?",
    r"(?:Задача создана|Task created)",
))
# System chat messages (and rendered service comments) name users this way; nobody types it.
_SYSTEM_MENTION = re.compile(r"\[USER=\d+ REPLACE\]", re.IGNORECASE)
_SERVICE_SECONDS = 2  # a service comment is written in the same request as the change it reports


def is_service_wording(text: str, templates: Iterable[re.Pattern] | None = None) -> bool:
    """Whether a classic comment's whole text is one of the portal's service lines."""
    text = (text or "").strip()
    if _SYSTEM_MENTION.search(text):
        return True
    parts = [part.strip().rstrip(".").strip() for part in text.split(" / ")]
    patterns = tuple(SERVICE_COMMENT_TEMPLATES if templates is None else templates)
    return bool(text) and all(any(p.fullmatch(part) for p in patterns) for part in parts)


def mark_service_comments(comments: list[Comment], history: Iterable[HistoryEvent], new_service: int) -> list[Comment]:
    """Flag as system the classic comments the portal wrote itself, from its own signal: `new_service`
    service comments appeared (serviceCommentsCount rose by that much), and each is written together
    with a field change in the task's history (same user, same second or two). At most `new_service`
    comments are flagged, those closest to such a change."""
    if new_service <= 0:
        return comments
    changes = [e for e in history if (e.field or "").upper() not in ("COMMENT", "COMMENT_EDIT", "COMMENT_DEL", "NEW")]
    scored = []
    for comment in comments:
        if comment.world == WORLD_CHAT or comment.system:
            continue
        try:
            when = parse_date(comment.date)
            gaps = [abs((parse_date(e.date) - when).total_seconds()) for e in changes
                    if e.user_id in (comment.author_id, 0)]
        except ValueError:
            continue
        if gaps and min(gaps) <= _SERVICE_SECONDS:
            scored.append((min(gaps), comment.id))
    flagged = {cid for _, cid in sorted(scored)[:new_service]}
    return [replace(c, system=True) if c.id in flagged else c for c in comments]


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
    Classic world: the same (see mark_service_comments), or the whole text is a service wording.
    """
    if comment.author_id == 0 or comment.system:
        return True
    if comment.world == WORLD_CHAT:
        return False
    return is_service_wording(comment.text, patterns)


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
    # Judged on the reader text, its quoted lines without their "» " lead (`^` finds a quoted line's
    # start), and the raw source; a comment left with nothing but hidden files is hidden whole.
    if hides(comment.text, rules) or only_hidden_files(comment, rules):
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
