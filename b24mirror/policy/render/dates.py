"""Dates as the portal sent them: the wall-clock time written in the ISO string, never
converted to the local machine's zone."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

from .safety import plain

ISO_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?")
# The site format classic comments and history rows carry: "03.12.2026 03:47:13" (the portal's zone).
SITE_RE = re.compile(r"^\s*(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{2}):(\d{2})(?::\d{2})?)?\s*$")


def offset_of(value: str | None) -> tzinfo:
    """The offset written in an ISO date; UTC when there is none."""
    text = str(value or "").strip()
    if text.endswith(("Z", "z")):
        return timezone.utc
    match = re.search(r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?([+-])(\d{2}):?(\d{2})$", text)
    if not match:
        return timezone.utc
    sign = 1 if match.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def wall_clock(value: str | None, tz: tzinfo | None = None) -> datetime | None:
    """The date as the portal wrote it (naive wall-clock), or a unix timestamp seen in `tz`."""
    text = str(value or "").strip()
    if not text or text in ("0", "-"):
        return None
    if re.fullmatch(r"-?\d+", text):
        moment = datetime.fromtimestamp(int(text), tz=tz or timezone.utc)
        return moment.replace(tzinfo=None)
    match = ISO_RE.match(text)
    site = None if match else SITE_RE.match(text)
    if not match and not site:
        return None
    year, month, day, hour, minute = match.groups() if match else (site.group(3), site.group(2), site.group(1),
                                                                   site.group(4), site.group(5))
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
    except ValueError:
        return None


def format_date(value: str | None, tz: tzinfo | None = None) -> str:
    """"15.07.2025 14:31" from "2025-07-15T14:31:00+02:00" (its own wall-clock time)."""
    moment = wall_clock(value, tz)
    if moment is None:
        return plain(value, 40) if value else ""
    text = str(value).strip()
    day_only = ISO_RE.match(text) or SITE_RE.match(text)
    if day_only and day_only.group(4) is None:
        return moment.strftime("%d.%m.%Y")
    return moment.strftime("%d.%m.%Y %H:%M")
