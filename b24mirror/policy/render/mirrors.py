"""The mirror lines, one renderer per kind: comment, event, new subtask, and the notes a
mirror is rewritten to when its source is deleted or withdrawn.

Every line reads alike: the subtask link (carrying the one marker), the person in bold,
the date, then what happened. People are named, never shown as ``#id``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import tzinfo

from ..markers import talk_marker
from ..models import KIND_EVENT, KIND_SUBTASK, Comment, HistoryEvent, Marker, Task, User
from b24mirror.config.settings import Rules
from .dates import format_date, offset_of, wall_clock
from .language import labels_for, statuses_for
from .links import CHAT, FORUM, bold, link, safe_url, strip_auth_params, task_url
from .reader import cut_pieces, reader_pieces, redact, redact_pieces, visible, write_pieces
from .safety import MAX_TITLE, inert, plain

EMPTY_SIDE = "—"
SEPARATOR = " · "
MAX_NAME = 100
MAX_ATTACHMENTS = 20
MAX_VALUE = 300  # one side of an event line (e.g. an old title)


_EMPTY_QUOTE_LINE = re.compile(r"(?:» ?)+")


def _tidy(text: str) -> str:
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if _EMPTY_QUOTE_LINE.fullmatch(line):
            continue
        if line.strip() and lines and lines[-1].startswith("»") and not line.startswith("»"):
            lines.append("")  # a reply under a quote is set apart from it, and starts at the margin
            line = line.lstrip()
        lines.append(line)
    value = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", value)


def _cut_length(text: str, limit: int, per_line: int = 0) -> int | None:
    """How many characters of `text` fit in `limit` with an ellipsis (counting `per_line`
    for each line's prefix), ending at a word where one is near; None when all of it fits."""
    total = consumed = 0  # cost so far; characters of `text` before this line
    for index, line in enumerate(text.split("\n")):
        newline = 1 if index else 0
        cost = len(line) + per_line + newline
        if total + cost > limit:
            room = limit - total - per_line - newline - 1  # one for the ellipsis
            if room <= 0:
                return max(0, consumed - 1)
            piece = line[:room]
            space = piece.rfind(" ")
            if space > room - 80 and space > 0:
                piece = piece[:space]
            return consumed + newline + len(piece)
        total += cost
        consumed += newline + len(line)
    return None


def _quote(body: str, flavour: str) -> str:
    if flavour == CHAT:
        return "\n".join(">>" + line for line in body.split("\n"))
    return f"[QUOTE]{body}[/QUOTE]"


def _header(task: Task, marker: Marker, portal_url: str, flavour: str, *parts: str) -> str:
    anchor = link(task_url(portal_url, task.id, marker, group_id=task.group_id), f"#{task.id} {plain(task.title)}".rstrip(),
                  flavour)
    return SEPARATOR.join([anchor, *[part for part in parts if part]])


def _person(name: str | None, flavour: str) -> str:
    shown = plain(name, MAX_NAME)
    return bold(shown, flavour) if shown else ""


def comment_body(comment: Comment, *, language: str = "ru", rules: Rules = Rules(), max_chars: int = 2000,
                 flavour: str = FORUM) -> tuple[str, bool]:
    """The comment as readers will see it, redacted, cut to `max_chars`: (BBCode, was it cut)."""
    pieces = redact_pieces(reader_pieces(comment.text, language=language), rules.redact_patterns, language=language)
    keep = _cut_length(_tidy(visible(pieces)), max(1, max_chars), per_line=2 if flavour == CHAT else 0)
    if keep is not None:
        # The reader text was tidied before measuring: measure the untidied pieces the same way.
        leading = len(visible(pieces)) - len(visible(pieces).lstrip("\n"))
        pieces = cut_pieces(pieces, keep + leading)
    return _tidy(write_pieces(pieces, flavour)), keep is not None


def render_comment(
    task: Task,
    comment: Comment,
    *,
    portal_url: str,
    language: str = "ru",
    rules: Rules = Rules(),
    max_chars: int = 2000,
    flavour: str = FORUM,
    tz: tzinfo | None = None,
) -> str:
    """Header (subtask link with the marker · author · date), the quoted text, attachments.

    The text is turned into reader text, redacted there, then cut to `max_chars`
    characters (prefixes of chat quote lines included) with a "read in full" link.
    """
    labels = labels_for(language)
    marker = talk_marker(task.id, comment)
    parts = [_header(task, marker, portal_url, flavour, _person(comment.author_name, flavour),
                     format_date(comment.date, tz))]
    body, was_cut = comment_body(comment, language=language, rules=rules, max_chars=max_chars, flavour=flavour)
    if body:
        parts.append(_quote(body, flavour))
        if was_cut:
            parts.append(link(task_url(portal_url, task.id, group_id=task.group_id), labels["read_full"], flavour))
    if comment.attachments:
        parts.append(_attachments(comment, portal_url, labels, flavour))
    return "\n".join(parts)


def _attachments(comment: Comment, portal_url: str, labels: Mapping[str, str], flavour: str) -> str:
    lines = [labels["attachments"] + ":"]
    for attachment in comment.attachments[:MAX_ATTACHMENTS]:
        name = plain(attachment.name, MAX_TITLE) or "file"
        url = attachment.url or ""
        if url.startswith("/") and not url.startswith("//"):
            url = (portal_url or "").rstrip("/") + url
        url = safe_url(strip_auth_params(url))
        lines.append("• " + (link(url, name, flavour) if url else name))
    extra = len(comment.attachments) - MAX_ATTACHMENTS
    if extra > 0:
        lines.append("• " + labels["more"].format(n=extra))
    return "\n".join(lines)


def _blank(value) -> bool:
    """No value on this side of a change: the portal writes none as "", 0, false or null, by field."""
    return value is None or value is False or str(value).strip().lower() in ("", "0", "false", "null", "none")


def _side(value, limit: int = MAX_VALUE) -> str:
    return EMPTY_SIDE if _blank(value) else (plain(value, limit) or EMPTY_SIDE)


def _status_name(value: str | None, language: str) -> str:
    text = str(value if value is not None else "").strip()
    if _blank(value):
        return EMPTY_SIDE
    try:
        return statuses_for(language).get(int(text), plain(text, MAX_VALUE))
    except ValueError:
        return plain(text, MAX_VALUE)


def user_name(value: str | int | None, users: Mapping[int, User], language: str = "ru") -> str:
    """A person's name from their id; "(name unknown)" rather than a bare ``#id``."""
    text = str(value if value is not None else "").strip()
    if _blank(value):
        return EMPTY_SIDE
    try:
        user_id = int(text)
    except ValueError:
        return plain(text, MAX_NAME)
    user = users.get(user_id)
    return plain(user.name, MAX_NAME) if user and user.name else labels_for(language)["unknown_person"]


def _deadline_sides(before: str | None, after: str | None, event_date: str, tz: tzinfo | None) -> tuple[str, str]:
    zone = tz or offset_of(event_date)
    event_moment = wall_clock(event_date, zone)
    moments = [wall_clock(before, zone), wall_clock(after, zone)]
    event_year = event_moment.year if event_moment else None
    with_year = any(m is not None and m.year != event_year for m in moments)
    sides = []
    for raw, moment in zip((before, after), moments):
        if moment is not None:
            sides.append(moment.strftime("%d.%m.%Y" if with_year else "%d.%m"))
        elif _blank(raw):
            sides.append(EMPTY_SIDE)
        else:
            sides.append(plain(raw, MAX_VALUE))
    return sides[0], sides[1]


def describe_change(
    event: HistoryEvent, *, language: str = "ru", users: Mapping[int, User] | None = None, tz: tzinfo | None = None
) -> str:
    """"Статус: Выполняется → Завершена" and the like, without BBCode."""
    labels = labels_for(language)
    field = (event.field or "").upper()
    users = users or {}
    if field in ("STATUS", "REAL_STATUS"):
        label, before, after = labels["status"], _status_name(event.before, language), _status_name(event.after, language)
    elif field == "DEADLINE":
        label = labels["deadline"]
        before, after = _deadline_sides(event.before, event.after, event.date, tz)
    elif field == "RESPONSIBLE_ID":
        label = labels["responsible"]
        before, after = user_name(event.before, users, language), user_name(event.after, users, language)
    elif field == "TITLE":
        label = labels["title"]
        before, after = _side(event.before), _side(event.after)
    else:
        label = plain(field, 60)
        before, after = _side(event.before), _side(event.after)
    return f"{label}: {before} → {after}"


def render_event(
    task: Task,
    event: HistoryEvent,
    *,
    portal_url: str,
    language: str = "ru",
    flavour: str = FORUM,
    tz: tzinfo | None = None,
    users: Mapping[int, User] | None = None,
    redact_patterns: tuple = (),
) -> str:
    """One line: subtask link (marker kind event, source = the history row id) · who · when · what.
    The change's values (an old title, say) are redacted like comment text."""
    marker = Marker(KIND_EVENT, task.id, event.id)
    change = describe_change(event, language=language, users=users, tz=tz)
    if redact_patterns:
        change = inert(redact(change, redact_patterns, language=language))
    return _header(
        task, marker, portal_url, flavour,
        _person(event.user_name, flavour),
        format_date(event.date, tz),
        change,
    )


def render_subtask(
    task: Task,
    *,
    portal_url: str,
    language: str = "ru",
    flavour: str = FORUM,
    parent: Task | None = None,
    creator_name: str = "",
    users: Mapping[int, User] | None = None,
    tz: tzinfo | None = None,
    date: str | None = None,
    master_id: int | None = None,
    moved: bool = False,
) -> str:
    """"Новая подзадача: #ID Title · creator · date · ..." — marker kind subtask, TASK = the
    parent, SOURCE = the subtask. The parent is named unless it is the master itself. A task
    `moved` in from elsewhere reads "Перенесена в проект" / "Moved into the project" instead."""
    labels = labels_for(language)
    parent_id = task.parent_id or (parent.id if parent else 0)
    marker = Marker(KIND_SUBTASK, parent_id, task.id)
    anchor = link(task_url(portal_url, task.id, marker, group_id=task.group_id), f"#{task.id} {plain(task.title)}".rstrip(),
                  flavour)
    lead = labels["moved_subtask" if moved else "new_subtask"]
    if parent is not None and parent.id != master_id:
        parent_link = link(task_url(portal_url, parent.id, group_id=parent.group_id), f"#{parent.id} {plain(parent.title)}".rstrip(), flavour)
        lead = f"{lead} {labels['in_task']} {parent_link}"
    parts = [f"{lead}: {anchor}", _person(creator_name, flavour),
             format_date(date or task.created_date, tz or offset_of(date or task.created_date))]
    if task.responsible_id:
        parts.append(f"{labels['responsible']}: {user_name(task.responsible_id, users or {}, language)}")
    if task.deadline:
        parts.append(f"{labels['deadline']}: {format_date(task.deadline, tz or offset_of(task.created_date))}")
    return SEPARATOR.join(part for part in parts if part)


def _note(marker: Marker, label: str, flavour: str, portal_url: str, group_id: int) -> str:
    shown_task = marker.source_id if marker.kind == KIND_SUBTASK else marker.task_id
    anchor = link(task_url(portal_url, shown_task, marker, group_id=group_id), f"#{shown_task}", flavour)
    return f"{anchor}{SEPARATOR}{label}"


def render_deleted_note(marker: Marker, *, group_id: int, language: str = "ru", flavour: str = FORUM,
                        portal_url: str = "") -> str:
    """The text a mirror is edited to when its source is deleted; keeps its marker.

    Without `portal_url` the link is site-relative, which the portal resolves itself.
    """
    key = {KIND_EVENT: "deleted_event", KIND_SUBTASK: "deleted_subtask"}.get(marker.kind, "deleted_comment")
    return _note(marker, labels_for(language)[key], flavour, portal_url, group_id)


def render_withdrawn_note(marker: Marker, *, group_id: int, language: str = "ru", flavour: str = FORUM,
                          portal_url: str = "") -> str:
    """The neutral text a mirror is edited to when its edited source no longer passes the
    rules: nothing of the source stays, the marker does."""
    return _note(marker, labels_for(language)["withdrawn"], flavour, portal_url, group_id)
