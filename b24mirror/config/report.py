"""The `report:` key of a group: a period (`every: 1w`, `every: 1d`) or moments of the week or day
(`every: ["Mon 09:00"]`, `every: ["09:00"]`), in the portal's time zone."""
from __future__ import annotations

import re
from typing import Any

from b24mirror.config.digest import scheduled_keys
from b24mirror.config.settings import ReportConfig

REPORT_KEYS = ("every",)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION_RE = re.compile(r"\s*(\d+)\s*(h|d|w)\s*", re.IGNORECASE)
_MOMENT_RE = re.compile(r"\s*(?:([A-Za-z]{3})\s+)?(\d{1,2}):(\d{2})\s*")
_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}
MIN_PERIOD = 3600  # a status report more often than hourly is a stream, not a status
EXAMPLE = 'e.g. report: {every: 1w}, {every: 1d} or {every: ["Mon 09:00"]}'


def parse_report(v, raw: Any, where: str) -> ReportConfig | None:
    """`v` is config.validator.Validator: every problem is collected, none stops the others."""
    raw = scheduled_keys(v, raw, where, REPORT_KEYS, f"every:, {EXAMPLE}")
    if raw is None:
        return None
    value = raw.get("every")
    if value is None:
        v.problem(where + ".every", f"missing: say how often the report is posted, {EXAMPLE}")
        return None
    if isinstance(value, list):
        if not value:
            v.problem(where + ".every", f"an empty list of times posts nothing; {EXAMPLE}")
            return None
        moments = [_moment(v, item, f"{where}.every[{i}]") for i, item in enumerate(value)]
        if any(m is None for m in moments):
            return None
        return ReportConfig(times=tuple(sorted(set(moments), key=lambda m: (m[0] if m[0] is not None else -1, m[1:]))))
    match = _DURATION_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        v.problem(where + ".every", f"must be a period like 1d or 1w, or a list of times; got {value!r}; {EXAMPLE}")
        return None
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds < MIN_PERIOD:
        v.problem(where + ".every", f"{value!r} is shorter than 1h, the shortest period a status report makes sense for")
        return None
    return ReportConfig(every=seconds)


def _moment(v, item: Any, where: str) -> tuple[int | None, int, int] | None:
    if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 24 * 60:
        return (None, *divmod(item, 60))  # YAML 1.1 reads an unquoted 09:00 as the base-60 number 540
    match = _MOMENT_RE.fullmatch(item) if isinstance(item, str) else None
    day = match.group(1).lower() if match and match.group(1) else None
    if match is None or (day is not None and day not in WEEKDAYS) or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        v.problem(where, f'must be a time "HH:MM" or a weekday and time "Mon 09:00" (quote it), got {item!r}')
        return None
    return (WEEKDAYS.index(day) if day else None, int(match.group(2)), int(match.group(3)))
