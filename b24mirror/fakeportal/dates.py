"""Portal dates: ISO 8601 with the portal's offset out, several layouts in (filters), unparseable -> None."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone


def parse_tz(text: str) -> timezone:
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text.strip())
    if not m:
        raise ValueError(f"bad time zone offset {text!r}, expected like +03:00")
    sign = 1 if m.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


def iso(ts: float | None, tz: timezone) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), tz).isoformat()


def site_format(ts: float, tz: timezone) -> str:
    """The 'DD.MM.YYYY HH:MM:SS' layout some user fields use (TIMESTAMP_X)."""
    return datetime.fromtimestamp(int(ts), tz).strftime("%d.%m.%Y %H:%M:%S")


def plain_format(ts: float, tz: timezone) -> str:
    """The 'YYYY-MM-DD HH:MM:SS' layout of LAST_ACTIVITY_DATE."""
    return datetime.fromtimestamp(int(ts), tz).strftime("%Y-%m-%d %H:%M:%S")


_LAYOUTS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y")


def parse(value, tz: timezone) -> float | None:
    """A date as a filter or a field value may carry it. Naive dates are portal-local.
    A '+' decoded to a space ('2026-03-04T09:00:00 03:00') matches no layout: that is the point."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    for layout in _LAYOUTS:
        try:
            dt = datetime.strptime(text, layout)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=tz)
        return dt.timestamp()
    return None
