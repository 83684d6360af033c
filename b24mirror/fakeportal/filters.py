"""Bitrix list filters: {"FIELD": v, ">ID": 5, "!STATUS": [5, 6], ">=CHANGED_DATE": "2026-03-04T09:00:00+03:00"}.

A prefix is one of ! < <= > >= = @ (@ and a list value mean IN); % on a string means "contains".
Fields are described by a getter and a kind: int, date, str, yn (Y/N flags), ids (membership in a list)."""
from __future__ import annotations

import re
from datetime import timezone
from typing import Any, Callable

from b24mirror.fakeportal import dates

_PREFIX = re.compile(r"^(!=|!|<=|>=|<|>|=|@|%)?(.+)$")

Field = tuple[Callable[[Any], Any], str]


class BadFilter(Exception):
    def __init__(self, key: str, value: Any):
        super().__init__(f"{key}={value!r}")
        self.key, self.value = key, value


def _norm(kind: str, value: Any, key: str, tz: timezone, lenient_dates: bool = False) -> Any:
    if kind == "date":
        if value in (None, "", False):
            return None
        ts = dates.parse(value, tz)
        if ts is None:
            if lenient_dates:  # strtotime() gave false, which compares as 0: the start of 1970, no error
                return 0.0
            raise BadFilter(key, value)
        return ts
    if kind in ("int", "ids"):
        try:
            return int(float(value)) if value not in (None, "") else 0
        except (TypeError, ValueError):
            raise BadFilter(key, value) from None
    if kind == "yn":
        text = str(value).strip().lower()
        return "Y" if text in ("y", "true", "1") else "N"
    return "" if value is None else str(value)


def _compare(op: str, have: Any, want: Any) -> bool:
    if op in ("", "=", "@"):
        return have == want
    if op in ("!", "!="):
        return have != want
    if have is None or want is None:
        return False
    return {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]


def compile_filter(flt: Any, fields: dict[str, Field], tz: timezone,
                   on_unknown: Callable[[str], None] | None = None,
                   lenient_dates: bool = False) -> Callable[[Any], bool]:
    """One predicate for the whole filter. Unknown keys are ignored (as the portal does) unless on_unknown
    raises. Unparseable ids raise BadFilter (the portal answers 400); so do unparseable dates, unless
    lenient_dates: tasks.task.list passes every date through strtotime, and one it cannot read becomes 1970."""
    if not isinstance(flt, dict):
        return lambda row: True
    tests: list[Callable[[Any], bool]] = []
    for raw_key, raw_value in flt.items():
        m = _PREFIX.match(str(raw_key))
        if not m:
            continue
        op, name = m.group(1) or "", m.group(2).upper()
        if name not in fields:
            if on_unknown:
                on_unknown(str(raw_key))
            continue
        getter, kind = fields[name]
        values = raw_value if isinstance(raw_value, list) else list(raw_value.values()) \
            if isinstance(raw_value, dict) else None
        if op == "%":
            needle = str(raw_value).lower().strip("%")
            tests.append(lambda row, g=getter, n=needle: n in str(g(row)).lower())
            continue
        if values is not None:  # a list: IN, or NOT IN with !
            wanted = {_norm(kind, v, str(raw_key), tz, lenient_dates) for v in values}
            negate = op.startswith("!")
            if kind == "ids":
                tests.append(lambda row, g=getter, w=wanted, n=negate: bool(set(g(row)) & w) != n)
            else:
                tests.append(lambda row, g=getter, w=wanted, n=negate: (g(row) in w) != n)
            continue
        want = _norm(kind, raw_value, str(raw_key), tz, lenient_dates)
        if kind == "ids":
            negate = op.startswith("!")
            tests.append(lambda row, g=getter, w=want, n=negate: (w in g(row)) != n)
        else:
            tests.append(lambda row, g=getter, o=op, w=want: _compare(o, g(row), w))
    return lambda row: all(t(row) for t in tests)


def sort_rows(rows: list, order: list[tuple[Callable[[Any], Any], bool]]) -> list:
    """Stable multi-key sort; None sorts first ascending, as MySQL does."""
    rows = list(rows)
    for getter, desc in reversed(order):
        rows.sort(key=lambda r, g=getter: (g(r) is not None, g(r) if g(r) is not None else 0), reverse=desc)
    return rows
