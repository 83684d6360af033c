"""The state as the engine sees it: per group cursors, snapshots, the ledger; saved in small transactions.

`GroupState.ledger`, `.tasks` and `.meta` are mappings backed by the database (`tables.py`): rows are
read when first asked for and written, at `save`, only when they changed. The group's own fields
(cursor, baseline, runs, last success and error) are one row, read for every group at open.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from b24mirror.policy.models import Marker
from b24mirror.state.errors import StateError
from b24mirror.state.schema import _GROUP_FIELDS, _check_json, _expect, _find_secret, _Invalid, _is_int, _marker_key
from b24mirror.state import store
from b24mirror.state.store import SCHEMA_VERSION, corrupt
from b24mirror.state.tables import JsonRows, Ledger, Rows

_SCALARS = ("baseline", "cursor", "runs", "last_success", "last_error")


@dataclass
class GroupState:
    """What b24mirror remembers about one workgroup."""

    group_id: int
    baseline: str | None = None
    cursor: str | None = None
    runs: int = 0
    last_success: str | None = None
    last_error: dict | None = None
    ledger: Any = field(default_factory=dict)  # a `Ledger` when it belongs to a State; a dict on its own
    tasks: Any = field(default_factory=dict)
    meta: Any = field(default_factory=dict)
    _owner: "State | None" = field(default=None, repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)
    _stored: str | None = field(default=None, repr=False, compare=False)  # the group row as last written

    def has(self, marker: Marker | str) -> bool:
        """Whether this marker's mirror is recorded as posted."""
        return _marker_key(marker) in self.ledger

    def record_post(self, marker: Marker | str, mirror_id: int | None, posted_at: str) -> None:
        """Record a posted mirror and commit it at once.

        Call it right after the portal accepted the post and before posting the next one:
        a crash after this call cannot lead to a second post of the same item.
        """
        if not isinstance(posted_at, str):
            raise TypeError(f"posted_at must be an ISO date string, not {type(posted_at).__name__}")
        self.record_posts([(marker, mirror_id, posted_at)])

    def record_posts(self, entries: list[tuple[Marker | str, int | None, str]]) -> None:
        """Record several mirrors known to exist (one batch of posts, or a read-back) in one transaction."""
        for marker, mirror_id, posted_at in entries:
            key = _marker_key(marker)
            if mirror_id is not None and not _is_int(mirror_id):
                raise TypeError(f"mirror_id must be an int or None, not {type(mirror_id).__name__}")
            self.ledger[key] = {"id": mirror_id, "posted_at": str(posted_at)}
        if entries and self._owner is not None:
            self._owner.save()

    def forget(self, marker: Marker | str) -> None:
        """Drop a marker from the ledger (in memory; the caller saves)."""
        self.ledger.pop(_marker_key(marker), None)

    def mark_success(self, at: str, cursor: str | None) -> None:
        """A sync of this group finished. Sets last_success, clears last_error, and moves
        the cursor when one is given (None keeps the old cursor). Leaves `runs` alone: the
        sync layer counts runs. Does not save."""
        self.last_success = at
        self.last_error = None
        if cursor is not None:
            self.cursor = cursor

    def mark_error(self, at: str, message: str) -> None:
        """A sync of this group failed. Does not save. The webhook secret, should the
        message quote a URL, is masked here rather than refused: errors carry URLs."""
        secret = self._owner.secret if self._owner is not None else None
        if secret:
            message = message.replace(secret, "***")
        self.last_error = {"at": at, "message": message}

    def body(self) -> dict:
        """The group's own fields (what its row holds), any unknown ones kept as they came."""
        data = dict(self._extra)
        data.update({name: getattr(self, name) for name in _SCALARS})
        return data

    def to_dict(self) -> dict:
        data = self.body()
        for name in ("ledger", "tasks", "meta"):
            table = getattr(self, name)
            data[name] = table.to_dict() if isinstance(table, Rows) else dict(table)
        return data


def _check_body(gid: int, body: dict) -> None:
    where = f"groups.{gid}"
    for name in ("baseline", "cursor", "last_success"):
        value = body.get(name)
        _expect(value, value is None or isinstance(value, str), f"{where}.{name}", "a date string or null")
    runs = body.get("runs")
    _expect(runs, _is_int(runs) and runs >= 0, f"{where}.runs", "a non-negative integer")
    error = body.get("last_error")
    if error is not None:
        _expect(error, isinstance(error, dict), f"{where}.last_error", "an object or null")
        for name in ("at", "message"):
            _expect(error.get(name), isinstance(error.get(name), str), f"{where}.last_error.{name}", "a string")
    _check_json(body, where)


class State:
    """The state database as the engine uses it. Obtain one from `open_state` or `read_state`."""

    def __init__(self, path: str | os.PathLike, *, secret: str | None = None, dry_run: bool = False,
                 read_only: bool = False, conn: sqlite3.Connection | None = None) -> None:
        self.path = Path(path)
        self.secret = secret or None
        self.dry_run = dry_run
        self.read_only = read_only
        self._conn = conn if conn is not None else store.memory()  # built by hand: a state in memory only
        self._groups: dict[int, GroupState] = {}
        self._held = 0  # inside `one_write`: saves wait for its end
        self._owed = False
        self.commits = 0  # transactions committed: one per settled request of posts, plus the run's end
        self._load_groups()

    def _load_groups(self) -> None:
        try:
            rows = self._conn.execute("SELECT group_id, body, ledger_size FROM groups").fetchall()
        except sqlite3.DatabaseError as exc:
            raise corrupt(self.path, f"SQLite cannot read it ({exc})") from None
        for gid, body, size in rows:
            group = self._new_group(gid, size)
            try:
                data = json.loads(body)
                _check_body(gid, data)
            except (ValueError, _Invalid) as exc:
                raise corrupt(self.path, f"group {gid}: {exc}") from None
            for key, value in data.items():
                if key in _GROUP_FIELDS:
                    setattr(group, key, value)
                else:
                    group._extra[key] = value
            group._stored = body

    def _new_group(self, gid: int, ledger_size: int = 0) -> GroupState:
        group = GroupState(gid, _owner=self, ledger=Ledger(self._conn, gid, ledger_size),
                           tasks=JsonRows(self._conn, gid, "tasks"), meta=JsonRows(self._conn, gid, "meta"))
        self._groups[gid] = group
        return group

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def one_write(self) -> Iterator[None]:
        """Saves asked for inside the block become one, made when the block ends (failing or not).

        For the records of one request's posts across groups: all of them are on disk before the
        next request is sent, in one transaction instead of one per group."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held and self._owed:
                self.save()

    def group(self, group_id: int) -> GroupState:
        """The group's state, created empty on first use."""
        if not _is_int(group_id) or group_id <= 0:
            raise ValueError(f"a group id is a positive int, not {group_id!r}")
        existing = self._groups.get(group_id)
        return existing if existing is not None else self._new_group(group_id)

    def groups(self) -> dict[int, GroupState]:
        return dict(self._groups)

    def to_dict(self) -> dict:
        """The whole state as one document (the JSON state's shape): reads every row, for export and tests."""
        return {"version": SCHEMA_VERSION,
                "groups": {str(gid): g.to_dict() for gid, g in sorted(self._groups.items())}}

    def save(self) -> None:
        """Commit what changed since the last save in one transaction (fsynced). Nothing in a dry run.

        Raises ValueError, before writing anything, when a changed record could not be read back
        (wrong types) or contains the webhook secret.
        """
        if self.dry_run:
            return
        if self.read_only:
            raise StateError(f"state {self.path} was opened read-only (without its lock); it cannot be saved")
        if self._held:
            self._owed = True
            return
        self._owed = False
        work, texts = [], []
        try:
            for gid, group in sorted(self._groups.items()):
                body = group.body()
                _check_body(gid, body)
                text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
                tables = [(t, t.changes()) for t in (group.ledger, group.tasks, group.meta)]
                tables = [(t, c) for t, c in tables if c]
                if text != group._stored or tables:
                    work.append((group, text, tables))
                    texts.append(text)
                    texts.extend(f"{key} {row}" for _, changes in tables for key, row in changes if row is not None)
        except _Invalid as exc:
            raise ValueError(f"refusing to write an invalid state to {self.path}: {exc}") from None
        if not work:
            return
        self._refuse_secret(work, texts)
        self._commit(work)

    def _refuse_secret(self, work: list, texts: list[str]) -> None:
        if not self.secret:
            return
        escaped = json.dumps(self.secret, ensure_ascii=False)[1:-1]
        for text in texts:
            if self.secret in text or escaped in text:
                document = {str(g.group_id): {**json.loads(t), **{table.name: {k: r for k, r in changes}
                                                                   for table, changes in tables}}
                            for g, t, tables in work}
                where = _find_secret(document, self.secret, "groups") or "a changed record"
                raise ValueError(f"refusing to write the webhook secret to the state file {self.path} "
                                 f"(found in {where})")

    def _commit(self, work: list) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for group, text, tables in work:
                    ledger_delta = sum(t.size_change(c) for t, c in tables if t is group.ledger)
                    conn.execute("INSERT INTO groups VALUES (?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET "
                                 "body = excluded.body, ledger_size = ledger_size + ?",
                                 (group.group_id, text, ledger_delta, ledger_delta))
                    for table, changes in tables:
                        for key, row in changes:
                            if row is None:
                                table.delete(conn, key)
                            else:
                                table.write(conn, key, row)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise StateError(f"cannot write the state file {self.path}: {exc}") from None
        self.commits += 1
        for group, text, tables in work:
            group._stored = text
            for table, changes in tables:
                if table is group.ledger:
                    table.stored_size += table.size_change(changes)
                table.settled(changes)
