"""The JSON state of b24mirror before the database (version 1): read, checked, and copied into tables.

Every record of it has a row: the group's own fields, each ledger entry (flags such as "digest"
kept), each task snapshot, each meta record (pending tasks, held digest items, refused posts,
notices, source hashes, the checklist map), and any key this version does not know.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from b24mirror.policy.models import Marker
from b24mirror.state.errors import StateError
from b24mirror.state.schema import _Invalid, _is_int, _validate
from b24mirror.state.store import KIND_CODES, corrupt, too_new
from b24mirror.state.tables import _dumps

JSON_VERSION = 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror or exc}") from None
    if not raw:
        raise corrupt(path, "it is empty (0 bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise corrupt(path, "it is neither a b24mirror database nor UTF-8 JSON") from None
    if "\x00" in text:
        raise corrupt(path, "it is neither a b24mirror database nor JSON text (it contains NUL bytes)")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise corrupt(path, f"it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; "
                            "truncated?)") from None
    except (ValueError, RecursionError) as exc:
        raise corrupt(path, f"it is not valid JSON ({exc})") from None
    version = document.get("version") if isinstance(document, dict) else None
    if _is_int(version) and version > JSON_VERSION:
        raise too_new(path, version, JSON_VERSION)
    try:
        _validate(document)
    except _Invalid as exc:
        raise corrupt(path, str(exc)) from None
    return document


def fill(conn: sqlite3.Connection, document: dict) -> None:
    """Copy a checked JSON state into an empty database, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    extra = {k: v for k, v in document.items() if k not in ("version", "groups")}
    if extra:
        conn.execute("INSERT INTO info VALUES ('extra', ?)", (_dumps(extra),))
    for gid_text, body in document.get("groups", {}).items():
        gid = int(gid_text)
        own = {k: v for k, v in body.items() if k not in ("ledger", "tasks", "meta")}
        for name, default in (("baseline", None), ("cursor", None), ("runs", 0), ("last_success", None),
                              ("last_error", None)):
            own.setdefault(name, default)
        ledger = body.get("ledger", {})
        conn.execute("INSERT INTO groups VALUES (?, ?, ?)", (gid, _dumps(own), len(ledger)))
        conn.executemany("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)", (
            _ledger_row(gid, key, record) for key, record in ledger.items()))
        conn.executemany("INSERT INTO tasks VALUES (?, ?, ?)",
                         ((gid, key, _dumps(snap)) for key, snap in body.get("tasks", {}).items()))
        conn.executemany("INSERT INTO meta VALUES (?, ?, ?)",
                         ((gid, key, _dumps(value)) for key, value in body.get("meta", {}).items()))
    conn.execute("COMMIT")


def _ledger_row(gid: int, key: str, record: dict) -> tuple:
    marker = Marker.parse(key)
    rest = {k: v for k, v in record.items() if k not in ("id", "posted_at")}
    return (gid, KIND_CODES[marker.kind], marker.task_id, marker.source_id, record.get("id"),
            record["posted_at"], _dumps(rest) if rest else None)
