"""Warnings that repeat on every run (a task chat the webhook's user cannot read, ...) are shown once,
then once a day, so `sync -q` under cron mails a person when something is new, not every five minutes.

Each group's state keeps, under `meta["notices"]`, every warning of its last run with when it was first
seen and last shown. A warning gone from a run is dropped: should it come back, it is new again.
"""
from __future__ import annotations

from datetime import datetime, timedelta

NOTICES = "notices"
REPEAT_AFTER = timedelta(days=1)


def due_warnings(meta: dict, warnings: list[str], now: datetime, secret: str | None = None) -> list[str]:
    """Record this run's warnings in `meta`; return the ones to show now (new, or last shown a day ago)."""
    stamp = now.isoformat(timespec="seconds")
    old = meta.get(NOTICES) if isinstance(meta.get(NOTICES), dict) else {}
    kept: dict[str, dict] = {}
    due: list[str] = []
    for text in dict.fromkeys(warnings):  # the same text twice in a run is one notice
        key = text.replace(secret, "***") if secret else text  # the state never holds the secret
        entry = dict(old.get(key) or {"first_seen": stamp})
        if _older_than(entry.get("last_shown"), now, REPEAT_AFTER):
            entry["last_shown"] = stamp
            due.append(text)
        entry["last_seen"] = stamp
        kept[key] = entry
    meta[NOTICES] = kept
    return due


def current_notices(meta: dict) -> list[str]:
    """The warnings of the group's last run, as `status` lists them."""
    notices = meta.get(NOTICES)
    return sorted(notices) if isinstance(notices, dict) else []


def _older_than(stamp: str | None, now: datetime, age: timedelta) -> bool:
    if not stamp:
        return True
    try:
        return now - datetime.fromisoformat(stamp) >= age
    except (TypeError, ValueError):
        return True  # an unreadable stamp: show the warning rather than hide it
