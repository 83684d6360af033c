"""The `digest:` key of a group: a period (`every: 1h`) or times of day (`every: ["09:00", "14:00"]`),
and the kinds posted at once (`now: [completed, deadline]`)."""
from __future__ import annotations

import re
from typing import Any

from b24mirror.config.settings import DIGEST_NOW_KINDS, DigestConfig

DIGEST_KEYS = ("every", "now")
_DURATION_RE = re.compile(r"\s*(\d+)\s*(m|min|h|d)\s*", re.IGNORECASE)
_TIME_RE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*")
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
MIN_PERIOD = 5 * 60  # shorter than a cron interval means nothing
EXAMPLE = 'e.g. digest: {every: 1h}, {every: 30m}, {every: 1d} or {every: ["09:00", "14:00"]}'


def scheduled_keys(v, raw: Any, where: str, keys: tuple[str, ...], shape: str) -> dict | None:
    """A key such as `digest:` or `report:`: None when left out or false, its mapping when it is one (unknown
    keys named), else a problem saying `shape`. `v` is config.validator.Validator: every problem is collected."""
    if raw is None or raw is False:
        return None
    if not isinstance(raw, dict):
        v.problem(where, f"must be a mapping with {shape}")
        return None
    v.unknown_keys(raw, keys, where + ".")
    return raw


def parse_digest(v, raw: Any, where: str) -> DigestConfig | None:
    """`v` is config.validator.Validator: every problem is collected, none stops the others."""
    raw = scheduled_keys(v, raw, where, DIGEST_KEYS, f"every: (and optionally now:), {EXAMPLE}")
    if raw is None:
        return None
    every, times = _period(v, raw.get("every"), where + ".every")
    now = _now_kinds(v, raw.get("now"), where + ".now")
    if every is None and not times:
        return None
    return DigestConfig(every=every, times=times, now=now)


def _period(v, value: Any, where: str) -> tuple[int | None, tuple[tuple[int, int], ...]]:
    if value is None:
        v.problem(where, f"missing: say how often the digest is posted, {EXAMPLE}")
        return None, ()
    if isinstance(value, list):
        times = [_time_of_day(v, item, f"{where}[{i}]") for i, item in enumerate(value)]
        if not value:
            v.problem(where, f"an empty list of times posts nothing; {EXAMPLE}")
        return None, tuple(sorted({t for t in times if t is not None}))
    match = _DURATION_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        v.problem(where, f"must be a period like 30m, 1h or 1d, or a list of times of day; got {value!r}; {EXAMPLE}")
        return None, ()
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    if seconds < MIN_PERIOD:
        v.problem(where, f"{value!r} is shorter than {MIN_PERIOD // 60}m, the shortest period that makes sense")
        return None, ()
    return seconds, ()


def _time_of_day(v, item: Any, where: str) -> tuple[int, int] | None:
    if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 24 * 60:
        # YAML 1.1 reads an unquoted 14:00 as the base-60 number 840: it means the same time of day.
        return divmod(item, 60)
    match = _TIME_RE.fullmatch(item) if isinstance(item, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        v.problem(where, f'must be a time of day HH:MM (quote it: "09:00"), got {item!r}')
        return None
    return int(match.group(1)), int(match.group(2))


def _now_kinds(v, value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        v.problem(where, f"must be a list of kinds posted at once ({', '.join(DIGEST_NOW_KINDS)}), got {value!r}")
        return ()
    for kind in value:
        if kind not in DIGEST_NOW_KINDS:
            v.problem(where, f"unknown kind {kind!r}; choose from {', '.join(DIGEST_NOW_KINDS)}")
    return tuple(k for k in value if k in DIGEST_NOW_KINDS)
