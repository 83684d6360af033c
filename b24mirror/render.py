"""Turn source items (comments, history rows, new subtasks) into mirror comment text.

Pure functions: no I/O. Two target flavours:

* ``forum`` — a classic task's forum comment: ``[URL=..]``, ``[B]``, ``[QUOTE]..[/QUOTE]``;
* ``chat`` — a new-card task's chat message: ``[url=..]``, ``[b]``, quotes as ``>>`` lines.

Every mirror carries exactly one marker token (``str(Marker)``), hidden as the fragment of
the subtask link's URL. Source content is neutralised first: mentions become plain names,
unsafe links lose their target, tags that could break out of the quote are escaped with a
zero-width space after ``[``, and marker-like text is defanged with a zero-width space
after ``b24m``.

Dates are shown as the portal sent them: the wall-clock time written in the ISO string,
never converted to the local machine's zone.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .models import (
    KIND_COMMENT,
    KIND_EVENT,
    KIND_SUBTASK,
    Comment,
    HistoryEvent,
    Marker,
    Task,
    User,
)
from .settings import Rules

FORUM = "forum"
CHAT = "chat"
FLAVOURS = (FORUM, CHAT)

ZWSP = "\u200b"

STATUS_NAMES = {
    "ru": {1: "Новая", 2: "Ждёт выполнения", 3: "Выполняется", 4: "Ждёт контроля", 5: "Завершена", 6: "Отложена", 7: "Отклонена"},
    "en": {1: "New", 2: "Pending", 3: "In progress", 4: "Awaiting control", 5: "Completed", 6: "Deferred", 7: "Declined"},
}

LABELS = {
    "ru": {
        "attachments": "Вложения",
        "more": "и ещё {n}",
        "read_full": "Читать полностью",
        "redacted": "[скрыто]",
        "status": "Статус",
        "deadline": "Крайний срок",
        "responsible": "Ответственный",
        "title": "Название",
        "new_subtask": "Новая подзадача",
        "in_task": "в задаче",
        "created_by": "Автор",
        "all": "все",
        "deleted_comment": "Комментарий удалён в источнике",
        "deleted_event": "Событие удалено в источнике",
        "deleted_subtask": "Подзадача удалена",
    },
    "en": {
        "attachments": "Attachments",
        "more": "and {n} more",
        "read_full": "Read in full",
        "redacted": "[redacted]",
        "status": "Status",
        "deadline": "Deadline",
        "responsible": "Responsible",
        "title": "Title",
        "new_subtask": "New subtask",
        "in_task": "in task",
        "created_by": "Created by",
        "all": "all",
        "deleted_comment": "The source comment was deleted",
        "deleted_event": "The source event was deleted",
        "deleted_subtask": "The subtask was deleted",
    },
}

EMPTY_SIDE = "—"
SEPARATOR = " · "
MAX_TITLE = 255
MAX_NAME = 100
MAX_ATTACHMENTS = 20
MAX_VALUE = 300  # one side of an event line (e.g. an old title)


def _labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["ru"])


def _statuses(language: str) -> dict[int, str]:
    return STATUS_NAMES.get(language, STATUS_NAMES["ru"])


# --------------------------------------------------------------------------- links


def task_url(portal_url: str, task_id: int, marker: Marker | None = None) -> str:
    """The task's page; with a marker, the marker rides along as the URL fragment."""
    base = (portal_url or "").rstrip("/")
    return f"{base}/company/personal/user/0/tasks/task/view/{task_id}/" + ("#" + str(marker) if marker else "")


_URL_STRIP_RE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
_MARKER_LIKE_RE = re.compile(r"b24m(?=\s*:)", re.IGNORECASE)
_MARKER_LIKE_URL_RE = re.compile(r"(b24m):", re.IGNORECASE)


def safe_url(url: str | None) -> str | None:
    """The URL fit to be a link target, or None.

    Only ``http(s)://`` URLs and site-relative paths (``/...``, not ``//host``) pass.
    Entities are decoded and control/invisible characters removed before the check, so
    ``java\\tscript:``, ``&#106;avascript:`` and friends fail it. Characters that could
    end the BBCode tag are percent-encoded, and marker-like text is defanged.
    """
    if url is None:
        return None
    value = str(url)
    for _ in range(3):  # double-encoded entities
        decoded = html.unescape(value)
        if decoded == value:
            break
        value = decoded
    value = _URL_STRIP_RE.sub("", value).strip()
    lowered = value.lower()
    if lowered.startswith(("http://", "https://")):
        rest = value.split("://", 1)[1]
        if not rest or rest[0] in "/\\":
            return None
    elif value.startswith("/"):
        if value.startswith(("//", "/\\")) or "\\" in value:
            return None
    else:
        return None
    for char, code in (("[", "%5B"), ("]", "%5D"), ('"', "%22"), ("'", "%27"), ("<", "%3C"), (">", "%3E"), (" ", "%20")):
        value = value.replace(char, code)
    value = re.sub(r"\s", "", value)
    return _MARKER_LIKE_URL_RE.sub(r"\1%3A", value)


def _strip_auth_params(url: str) -> str:
    """Drop `auth...` query parameters (the portal puts the caller's token in download URLs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not k.lower().startswith("auth")]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _link(url: str, text: str, flavour: str) -> str:
    if flavour == CHAT:
        return f"[url={url}]{text}[/url]"
    return f"[URL={url}]{text}[/URL]"


def _bold(text: str, flavour: str) -> str:
    return f"[b]{text}[/b]" if flavour == CHAT else f"[B]{text}[/B]"


# --------------------------------------------------------------------------- text safety


def defang(text: str) -> str:
    """Make marker-like text inert: a zero-width space after ``b24m`` (idempotent)."""
    return _MARKER_LIKE_RE.sub(lambda m: m.group(0) + ZWSP, text or "")


def _escape_brackets(text: str) -> str:
    """A zero-width space after every ``[`` so no BBCode parser sees a tag (idempotent)."""
    return re.sub(r"\[(?!\u200b)", "[" + ZWSP, text)


_TAG_RE = re.compile(r"\[(/?)([A-Za-z][A-Za-z0-9]*|\*)((?:[= ][^\[\]]*)?)\]")
_MENTION_PAIR_RE = re.compile(r"\[(user|chat|context)(?:=[^\]]*)?\](.*?)\[/\1\]", re.IGNORECASE | re.DOTALL)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Tags whose content is kept and whose tag is dropped.
_UNWRAP = {"user", "chat", "context", "send", "put", "call", "color", "size", "font", "left", "right",
           "center", "justify", "list", "p", "spoiler"}
# Formatting kept (when balanced).
_FORMAT = {"b", "i", "u", "s"}
# Self-closing bits of chat BBCode that carry nothing worth keeping.
_DROP = {"disk", "icon", "timestamp", "attach"}


def plain(text: str | None, limit: int = MAX_TITLE) -> str:
    """A single line free of BBCode: for titles and names placed inside our own tags."""
    value = _CONTROL_RE.sub("", str(text or ""))
    value = _MENTION_PAIR_RE.sub(lambda m: m.group(2), value)
    value = _TAG_RE.sub("", value)
    value = value.replace("[", "(").replace("]", ")")
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return defang(value)


def _tokenise(text: str) -> list[tuple]:
    """Split into ("text", s) and ("tag", closing, name, arg, raw) tokens."""
    tokens: list[tuple] = []
    pos = 0
    for match in _TAG_RE.finditer(text):
        if match.start() > pos:
            tokens.append(("text", text[pos : match.start()]))
        tokens.append(("tag", bool(match.group(1)), match.group(2).lower(), match.group(3), match.group(0)))
        pos = match.end()
    if pos < len(text):
        tokens.append(("text", text[pos:]))
    return tokens


def _find_close(tokens: list[tuple], start: int, name: str) -> int | None:
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token[0] == "tag" and token[1] and token[2] == name:
            return index
    return None


def _inner_text(tokens: list[tuple]) -> str:
    parts = []
    for token in tokens:
        if token[0] == "text":
            parts.append(token[1])
        elif token[2] == "br":
            parts.append(" ")
    return " ".join("".join(parts).split())


def neutralise(text: str, *, flavour: str = FORUM, language: str = "ru") -> str:
    """Source BBCode made safe to quote inside a mirror.

    Mentions become plain names; ``[URL]``/``[IMG]`` keep their link only when the target
    passes `safe_url` (else just the text stays); ``[B]``, ``[I]``, ``[U]``, ``[S]`` stay when
    balanced; every other tag — ``[QUOTE]``, ``[/QUOTE]``, ``[CODE]``, unbalanced ones,
    unknown ones — is escaped so it shows as text; marker-like text is defanged.
    Idempotent: neutralising the output again changes nothing.
    """
    value = _CONTROL_RE.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    tokens = _tokenise(value)
    # First pass: resolve links and mentions into ("text"|"link"|"fmt"|"raw") items.
    items: list[tuple] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token[0] == "text":
            items.append(("text", token[1]))
            index += 1
            continue
        _, closing, name, arg, raw = token
        target = arg[1:].strip() if arg.startswith("=") else ""
        if name in ("url", "img") and not closing:
            close = _find_close(tokens, index + 1, name)
            if close is None:
                items.append(("text", raw))
                index += 1
                continue
            inner = _inner_text(tokens[index + 1 : close])
            url = safe_url(target if (name == "url" and target) else inner)
            if url:
                items.append(("link", url, inner or url))
            else:
                items.append(("text", inner))
            index = close + 1
            continue
        if name == "user" and not closing and target.split(" ")[0].lower() == "all":
            if _find_close(tokens, index + 1, name) is None:
                items.append(("text", "@" + _labels(language)["all"]))
                index += 1
                continue
        if name in _UNWRAP or name in _DROP:
            index += 1
            continue
        if name == "br":
            items.append(("text", "\n"))
            index += 1
            continue
        if name == "*":
            items.append(("text", "• "))
            index += 1
            continue
        if name in _FORMAT and not arg:
            items.append(("fmt", closing, name, raw))
            index += 1
            continue
        items.append(("text", raw))  # escaped below
        index += 1
    # Second pass: keep only balanced formatting tags.
    keep: set[int] = set()
    stack: list[tuple[str, int]] = []
    for position, item in enumerate(items):
        if item[0] != "fmt":
            continue
        _, closing, name, _raw = item
        if not closing:
            stack.append((name, position))
        elif any(entry[0] == name for entry in stack):
            while stack:
                open_name, open_position = stack.pop()
                if open_name == name:
                    keep.update((open_position, position))
                    break
    out: list[str] = []
    for position, item in enumerate(items):
        kind = item[0]
        if kind == "text":
            out.append(defang(_escape_brackets(item[1])))
        elif kind == "link":
            out.append(_link(item[1], defang(_escape_brackets(item[2].replace("]", ")"))), flavour))
        elif position in keep:
            name = item[2] if flavour == CHAT else item[2].upper()
            out.append(f"[{'/' if item[1] else ''}{name}]")
        else:
            out.append(defang(_escape_brackets(item[3])))
    # Dropped tags may have joined the text on either side: defang the whole once more.
    return defang("".join(out))


def redact(text: str, patterns: Iterable | None, *, language: str = "ru") -> str:
    """Replace every match of the patterns (compiled or strings) with "[скрыто]"/"[redacted]"."""
    value = text or ""
    replacement = _labels(language)["redacted"]
    for pattern in patterns or ():
        compiled = pattern if hasattr(pattern, "sub") else re.compile(pattern)
        value = compiled.sub(lambda _m: replacement, value)
    return value


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    value = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", value)


def _cut(text: str, limit: int, per_line: int = 0) -> tuple[str, bool]:
    """At most `limit` characters (counting `per_line` extra for each line's prefix)."""
    total = 0
    kept: list[str] = []
    for line in text.split("\n"):
        cost = len(line) + per_line + (1 if kept else 0)
        if total + cost > limit:
            room = limit - total - per_line - (1 if kept else 0) - 1  # one for the ellipsis
            if room > 0:
                piece = line[:room]
                space = piece.rfind(" ")
                if space > room - 80 and space > 0:
                    piece = piece[:space]
                kept.append(piece.rstrip() + "…")
            elif kept:
                kept[-1] = kept[-1][: max(0, len(kept[-1]) - 1)] + "…"
            else:
                kept.append("…")
            return "\n".join(kept), True
        kept.append(line)
        total += cost
    return text, False


def _quote(body: str, flavour: str) -> str:
    if flavour == CHAT:
        return "\n".join(">>" + line for line in body.split("\n"))
    return f"[QUOTE]{body}[/QUOTE]"


# --------------------------------------------------------------------------- dates

_ISO_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?")


def _offset_of(value: str | None) -> tzinfo:
    """The offset written in an ISO date; UTC when there is none."""
    text = str(value or "").strip()
    if text.endswith(("Z", "z")):
        return timezone.utc
    match = re.search(r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?([+-])(\d{2}):?(\d{2})$", text)
    if not match:
        return timezone.utc
    sign = 1 if match.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _wall_clock(value: str | None, tz: tzinfo | None = None) -> datetime | None:
    """The date as the portal wrote it (naive wall-clock), or a unix timestamp seen in `tz`."""
    text = str(value or "").strip()
    if not text or text in ("0", "-"):
        return None
    if re.fullmatch(r"-?\d+", text):
        moment = datetime.fromtimestamp(int(text), tz=tz or timezone.utc)
        return moment.replace(tzinfo=None)
    match = _ISO_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
    except ValueError:
        return None


def format_date(value: str | None, tz: tzinfo | None = None) -> str:
    """"15.07.2025 14:31" from "2025-07-15T14:31:00+02:00" (its own wall-clock time)."""
    moment = _wall_clock(value, tz)
    if moment is None:
        return plain(value, 40) if value else ""
    text = str(value).strip()
    if _ISO_RE.match(text) and _ISO_RE.match(text).group(4) is None:
        return moment.strftime("%d.%m.%Y")
    return moment.strftime("%d.%m.%Y %H:%M")


# --------------------------------------------------------------------------- renderers


def _header(task: Task, marker: Marker, portal_url: str, flavour: str, *parts: str) -> str:
    link = _link(task_url(portal_url, task.id, marker), f"#{task.id} {plain(task.title)}".rstrip(), flavour)
    return SEPARATOR.join([link, *[part for part in parts if part]])


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

    The text is redacted, then neutralised, then cut to `max_chars` characters (prefixes
    of chat quote lines included) with a "read in full" link to the subtask.
    """
    labels = _labels(language)
    marker = Marker(KIND_COMMENT, task.id, comment.id)
    header = _header(
        task, marker, portal_url, flavour,
        _bold(plain(comment.author_name, MAX_NAME), flavour) if plain(comment.author_name, MAX_NAME) else "",
        format_date(comment.date, tz),
    )
    parts = [header]
    body = _tidy(neutralise(redact(comment.text, rules.redact_patterns, language=language), flavour=flavour, language=language))
    if body:
        limit = max(1, max_chars)
        body, was_cut = _cut(body, limit, per_line=2 if flavour == CHAT else 0)
        if was_cut:
            body = neutralise(body, flavour=flavour, language=language)
        parts.append(_quote(body, flavour))
        if was_cut:
            parts.append(_link(task_url(portal_url, task.id), labels["read_full"], flavour))
    if comment.attachments:
        lines = [labels["attachments"] + ":"]
        for attachment in comment.attachments[:MAX_ATTACHMENTS]:
            name = plain(attachment.name, MAX_TITLE) or "file"
            url = attachment.url or ""
            if url.startswith("/") and not url.startswith("//"):
                url = (portal_url or "").rstrip("/") + url
            url = safe_url(_strip_auth_params(url))
            lines.append("• " + (_link(url, name, flavour) if url else name))
        extra = len(comment.attachments) - MAX_ATTACHMENTS
        if extra > 0:
            lines.append("• " + labels["more"].format(n=extra))
        parts.append("\n".join(lines))
    return "\n".join(parts)


def _status_name(value: str | None, language: str) -> str:
    text = str(value if value is not None else "").strip()
    if not text:
        return EMPTY_SIDE
    try:
        return _statuses(language).get(int(text), plain(text, MAX_VALUE))
    except ValueError:
        return plain(text, MAX_VALUE)


def _user_name(value: str | None, users: Mapping[int, User]) -> str:
    text = str(value if value is not None else "").strip()
    if not text or text == "0":
        return EMPTY_SIDE
    try:
        user_id = int(text)
    except ValueError:
        return plain(text, MAX_NAME)
    user = users.get(user_id)
    return plain(user.name, MAX_NAME) if user and user.name else f"#{user_id}"


def _deadline_sides(before: str | None, after: str | None, event_date: str, tz: tzinfo | None) -> tuple[str, str]:
    zone = tz or _offset_of(event_date)
    event_moment = _wall_clock(event_date, zone)
    moments = [_wall_clock(before, zone), _wall_clock(after, zone)]
    event_year = event_moment.year if event_moment else None
    with_year = any(m is not None and m.year != event_year for m in moments)
    sides = []
    for raw, moment in zip((before, after), moments):
        if moment is not None:
            sides.append(moment.strftime("%d.%m.%Y" if with_year else "%d.%m"))
        elif str(raw or "").strip() in ("", "0"):
            sides.append(EMPTY_SIDE)
        else:
            sides.append(plain(raw, MAX_VALUE))
    return sides[0], sides[1]


def describe_change(
    event: HistoryEvent, *, language: str = "ru", users: Mapping[int, User] | None = None, tz: tzinfo | None = None
) -> str:
    """"Статус: Выполняется → Завершена" and the like, without BBCode."""
    labels = _labels(language)
    field = (event.field or "").upper()
    users = users or {}
    if field in ("STATUS", "REAL_STATUS"):
        label, before, after = labels["status"], _status_name(event.before, language), _status_name(event.after, language)
    elif field == "DEADLINE":
        label = labels["deadline"]
        before, after = _deadline_sides(event.before, event.after, event.date, tz)
    elif field == "RESPONSIBLE_ID":
        label, before, after = labels["responsible"], _user_name(event.before, users), _user_name(event.after, users)
    elif field == "TITLE":
        label = labels["title"]
        before, after = plain(event.before, MAX_VALUE) or EMPTY_SIDE, plain(event.after, MAX_VALUE) or EMPTY_SIDE
    else:
        label = plain(field, 60)
        before, after = plain(event.before, MAX_VALUE) or EMPTY_SIDE, plain(event.after, MAX_VALUE) or EMPTY_SIDE
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
) -> str:
    """One line: subtask link (marker kind event, source = the history row id) · who · when · what."""
    marker = Marker(KIND_EVENT, task.id, event.id)
    return _header(
        task, marker, portal_url, flavour,
        plain(event.user_name, MAX_NAME),
        format_date(event.date, tz),
        describe_change(event, language=language, users=users, tz=tz),
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
) -> str:
    """"Новая подзадача: #ID Title · ..." — marker kind subtask, TASK = the parent, SOURCE = the subtask."""
    labels = _labels(language)
    parent_id = task.parent_id or (parent.id if parent else 0)
    marker = Marker(KIND_SUBTASK, parent_id, task.id)
    link = _link(task_url(portal_url, task.id, marker), f"#{task.id} {plain(task.title)}".rstrip(), flavour)
    lead = labels["new_subtask"]
    if parent is not None:
        parent_link = _link(task_url(portal_url, parent.id), f"#{parent.id} {plain(parent.title)}".rstrip(), flavour)
        lead = f"{lead} {labels['in_task']} {parent_link}"
    parts = [f"{lead}: {link}"]
    if creator_name:
        parts.append(f"{labels['created_by']}: {plain(creator_name, MAX_NAME)}")
    if task.responsible_id:
        parts.append(f"{labels['responsible']}: {_user_name(str(task.responsible_id), users or {})}")
    if task.deadline:
        parts.append(f"{labels['deadline']}: {format_date(task.deadline, tz or _offset_of(task.created_date))}")
    return SEPARATOR.join(parts)


def render_deleted_note(marker: Marker, *, language: str = "ru", flavour: str = FORUM, portal_url: str = "") -> str:
    """The text a mirror is edited to when its source is deleted; keeps its marker.

    Without `portal_url` the link is site-relative, which the portal resolves itself.
    """
    labels = _labels(language)
    key = {KIND_COMMENT: "deleted_comment", KIND_EVENT: "deleted_event", KIND_SUBTASK: "deleted_subtask"}.get(
        marker.kind, "deleted_comment"
    )
    shown_task = marker.source_id if marker.kind == KIND_SUBTASK else marker.task_id
    link = _link(task_url(portal_url, shown_task, marker), f"#{shown_task}", flavour)
    return f"{link}{SEPARATOR}{labels[key]}"
