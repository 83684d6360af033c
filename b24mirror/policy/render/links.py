"""Links in mirror text: the task page (carrying the marker), and source links made safe."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..models import Marker

FORUM = "forum"
CHAT = "chat"
FLAVOURS = (FORUM, CHAT)

_URL_STRIP_RE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
_MARKER_LIKE_URL_RE = re.compile(r"(b24m):", re.IGNORECASE)


def task_url(portal_url: str, task_id: int, marker: Marker | None = None, *, group_id: int) -> str:
    """The task's page; with a marker, the marker rides along as the URL fragment.

    A group's task lives under the group, as the portal links it (the tasks module's
    `paths_task_group_entry`: /workgroups/group/#group_id#/tasks/task/view/#task_id#/). Every task b24mirror
    links to belongs to a mirrored group, so the group is always given: a link a reader follows opens
    the task where the project's people see it, not on a personal page of a user 0."""
    base = (portal_url or "").rstrip("/")
    page = f"/workgroups/group/{group_id}/tasks/task/view/{task_id}/"
    return base + page + ("#" + str(marker) if marker else "")


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


def strip_auth_params(url: str) -> str:
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


def link(url: str, text: str, flavour: str) -> str:
    if flavour == CHAT:
        return f"[url={url}]{text}[/url]"
    return f"[URL={url}]{text}[/URL]"


def bold(text: str, flavour: str) -> str:
    return f"[b]{text}[/b]" if flavour == CHAT else f"[B]{text}[/B]"
