"""One group's rows of a state table, seen as the mapping the engine has always used.

A row is read from the database the first time it is asked for and kept; `changes` names the
rows that differ from what the database holds (set, deleted, or changed in place — the engine
updates records it was given, `record["digest"] = True`), and `settled` takes them as written
once their transaction committed. A run thus reads the rows it touches and writes the rows it
changed, whatever the size of the history.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import MutableMapping
from typing import Any, Iterable, Iterator

from b24mirror.policy.models import MARKER_RE, Marker
from b24mirror.state.schema import _check_json, _expect, _Invalid, _is_int
from b24mirror.state.store import KIND_CODES, KIND_NAMES

_MISSING = object()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class Rows(MutableMapping):
    """Rows keyed by a string within one group; values are plain JSON-like data."""

    name = "rows"  # the table, as error messages name it

    def __init__(self, conn: sqlite3.Connection, group_id: int) -> None:
        self._conn = conn
        self._gid = group_id
        self._cache: dict[str, list] = {}  # key -> [value or _MISSING, decoded copy of the stored row or _MISSING]
        self.rows_read = 0  # look-ups and the rows they returned: what the sweep's cost is counted in

    # what a table defines
    def _select(self, key: str) -> Any: raise NotImplementedError
    def _scan(self) -> Iterable[tuple[str, Any]]: raise NotImplementedError
    def _decode(self, key: str, row: Any) -> Any: raise NotImplementedError
    def _stored_count(self) -> int: raise NotImplementedError
    def encode(self, key: str, value: Any) -> tuple: raise NotImplementedError
    def write(self, conn: sqlite3.Connection, key: str, row: tuple) -> None: raise NotImplementedError
    def delete(self, conn: sqlite3.Connection, key: str) -> None: raise NotImplementedError

    def _valid_key(self, key: Any) -> str | None:
        return key if isinstance(key, str) else None

    def _entry(self, key: Any) -> list | None:
        key = self._valid_key(key)
        if key is None:
            return None
        entry = self._cache.get(key)
        if entry is None:
            self.rows_read += 1
            row = self._select(key)
            if row is None:
                entry = [_MISSING, _MISSING]
            else:
                entry = [self._decode(key, row), self._decode(key, row)]  # two copies: one to compare against
            self._cache[key] = entry
        return entry

    def _remember(self, key: str, row: Any) -> None:
        """A row read by a range query: cached like a point read (unless already held)."""
        self.rows_read += 1
        if key not in self._cache:
            self._cache[key] = [self._decode(key, row), self._decode(key, row)]

    def __getitem__(self, key: Any) -> Any:
        entry = self._entry(key)
        if entry is None or entry[0] is _MISSING:
            raise KeyError(key)
        return entry[0]

    def __contains__(self, key: Any) -> bool:
        entry = self._entry(key)
        return entry is not None and entry[0] is not _MISSING

    def __setitem__(self, key: str, value: Any) -> None:
        entry = self._entry(key)
        if entry is None:
            raise ValueError(f"{key!r} is not a valid key of the state's {self.name} (keys are strings)")
        entry[0] = value

    def __delitem__(self, key: Any) -> None:
        entry = self._entry(key)
        if entry is None or entry[0] is _MISSING:
            raise KeyError(key)
        entry[0] = _MISSING

    def __iter__(self) -> Iterator[str]:
        """Every key: a scan of the whole table (for export and tests; the engine asks by key)."""
        for key, row in list(self._scan()):
            self._remember(key, row)
        for key, entry in list(self._cache.items()):
            if entry[0] is not _MISSING:
                yield key

    def __len__(self) -> int:
        count = self._stored_count()
        for value, stored in self._cache.values():
            if value is _MISSING and stored is not _MISSING:
                count -= 1
            elif value is not _MISSING and stored is _MISSING:
                count += 1
        return count

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (dict, Rows)):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of group {self._gid}: {len(self)} rows>"

    def to_dict(self) -> dict:
        return {key: self[key] for key in self}

    def changes(self) -> list[tuple[str, tuple | None]]:
        """(key, encoded row) for each row to write, (key, None) for each to delete; raises _Invalid."""
        out = []
        for key, (value, stored) in self._cache.items():
            if value is _MISSING:
                if stored is not _MISSING:
                    out.append((key, None))
            elif stored is _MISSING or value != stored:
                out.append((key, self.encode(key, value)))
        return out

    def settled(self, changes: list[tuple[str, tuple | None]]) -> None:
        """The changes are committed: what the database holds is now what the cache holds."""
        for key, row in changes:
            if row is None:
                del self._cache[key]
            else:
                self._cache[key][1] = self._decode(key, row)

    def size_change(self, changes: list[tuple[str, tuple | None]]) -> int:
        delta = 0
        for key, row in changes:
            stored = self._cache[key][1]
            delta += (row is not None and stored is _MISSING) - (row is None and stored is not _MISSING)
        return delta


class JsonRows(Rows):
    """tasks (task id -> snapshot) and meta (name -> record): one JSON text per row."""

    def __init__(self, conn: sqlite3.Connection, group_id: int, table: str) -> None:
        super().__init__(conn, group_id)
        self.name = table
        self._table, self._column = table, {"tasks": "task_id", "meta": "key"}[table]
        self._value = {"tasks": "snapshot", "meta": "value"}[table]

    def _select(self, key: str) -> Any:
        found = self._conn.execute(f"SELECT {self._value} FROM {self._table} WHERE group_id = ? AND "
                                   f"{self._column} = ?", (self._gid, key)).fetchone()
        return None if found is None else found[0]

    def _scan(self) -> Iterable[tuple[str, Any]]:
        return self._conn.execute(f"SELECT {self._column}, {self._value} FROM {self._table} WHERE group_id = ?",
                                  (self._gid,))

    def _decode(self, key: str, row: Any) -> Any:
        return json.loads(row if isinstance(row, str) else row[0])

    def _stored_count(self) -> int:
        return self._conn.execute(f"SELECT count(*) FROM {self._table} WHERE group_id = ?", (self._gid,)).fetchone()[0]

    def encode(self, key: str, value: Any) -> tuple:
        where = f"groups.{self._gid}.{self._table}.{key}"
        if self._table == "tasks":
            if not (key.isascii() and key.isdigit()):
                raise _Invalid(f"groups.{self._gid}.tasks has a key {key!r} that is not a task id")
            _expect(value, isinstance(value, dict), where, "an object")
        _check_json(value, where)
        return (_dumps(value),)

    def write(self, conn: sqlite3.Connection, key: str, row: tuple) -> None:
        conn.execute(f"INSERT OR REPLACE INTO {self._table} VALUES (?, ?, ?)", (self._gid, key, row[0]))

    def delete(self, conn: sqlite3.Connection, key: str) -> None:
        conn.execute(f"DELETE FROM {self._table} WHERE group_id = ? AND {self._column} = ?", (self._gid, key))


class Ledger(Rows):
    """marker -> {"id": mirror id or None, "posted_at": date, and any flag such as "digest"}."""

    name = "ledger"

    def __init__(self, conn: sqlite3.Connection, group_id: int, stored_size: int) -> None:
        super().__init__(conn, group_id)
        self.stored_size = stored_size  # kept in the groups row: counting a group's ledger costs nothing

    def _valid_key(self, key: Any) -> str | None:
        if isinstance(key, Marker):
            return str(key)
        return str(Marker.parse(key)) if isinstance(key, str) and MARKER_RE.fullmatch(key) else None

    def _select(self, key: str) -> Any:
        m = Marker.parse(key)
        return self._conn.execute(
            "SELECT mirror_id, posted_at, extra FROM ledger WHERE group_id = ? AND kind = ? AND task_id = ? "
            "AND source_id = ?", (self._gid, KIND_CODES[m.kind], m.task_id, m.source_id)).fetchone()

    def _rows(self, where: str, args: tuple) -> Iterator[tuple[str, Any]]:
        for kind, task_id, source_id, *row in self._conn.execute(
                "SELECT kind, task_id, source_id, mirror_id, posted_at, extra FROM ledger WHERE group_id = ?"
                + where, (self._gid, *args)):
            yield f"b24m:{KIND_NAMES[kind]}:{task_id}:{source_id}", tuple(row)

    def _scan(self) -> Iterable[tuple[str, Any]]:
        return self._rows("", ())

    def _decode(self, key: str, row: Any) -> Any:
        mirror_id, posted_at, extra = row
        record = {"id": mirror_id, "posted_at": posted_at}
        if extra:
            record.update(json.loads(extra))
        return record

    def _stored_count(self) -> int:
        return self.stored_size

    def encode(self, key: str, value: Any) -> tuple:
        where = f"groups.{self._gid}.ledger.{key}"
        _expect(value, isinstance(value, dict), where, "an object")
        mirror_id, posted_at = value.get("id"), value.get("posted_at")
        _expect(mirror_id, mirror_id is None or _is_int(mirror_id), f"{where}.id", "an integer or null")
        _expect(posted_at, isinstance(posted_at, str), f"{where}.posted_at", "a date string")
        extra = {k: v for k, v in value.items() if k not in ("id", "posted_at")}
        _check_json(extra, where)
        return (mirror_id, posted_at, _dumps(extra) if extra else None)

    def write(self, conn: sqlite3.Connection, key: str, row: tuple) -> None:
        m = Marker.parse(key)
        conn.execute("INSERT OR REPLACE INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (self._gid, KIND_CODES[m.kind], m.task_id, m.source_id, *row))

    def delete(self, conn: sqlite3.Connection, key: str) -> None:
        m = Marker.parse(key)
        conn.execute("DELETE FROM ledger WHERE group_id = ? AND kind = ? AND task_id = ? AND source_id = ?",
                     (self._gid, KIND_CODES[m.kind], m.task_id, m.source_id))

    # The look-ups by task: each one range of the primary key, never a walk through the history.
    def markers_of(self, task_id: int, kind: str) -> list[str]:
        """The recorded markers of one task and kind, in source order."""
        self.rows_read += 1  # the range itself, found empty or not
        for key, row in list(self._rows(" AND kind = ? AND task_id = ?", (KIND_CODES[kind], task_id))):
            self._remember(key, row)
        prefix = f"b24m:{kind}:{task_id}:"
        found = [k for k, e in self._cache.items() if k.startswith(prefix) and e[0] is not _MISSING]
        return sorted(found, key=lambda k: int(k.rsplit(":", 1)[1]))

    def has_task(self, task_id: int, kind: str) -> bool:
        """Whether any mirror of this kind is recorded for the task."""
        return bool(self.markers_of(task_id, kind))

    def known_for(self, task_ids: Iterable[int]) -> frozenset[Marker]:
        """Every recorded marker of these tasks, and every subtask announced."""
        keys = [k for task_id in sorted(set(task_ids)) for kind in ("comment", "message", "event", "result")
                for k in self.markers_of(task_id, kind)]
        for key, row in list(self._rows(" AND kind = ?", (KIND_CODES["subtask"],))):
            self._remember(key, row)
        keys += [k for k, e in self._cache.items() if k.startswith("b24m:subtask:") and e[0] is not _MISSING]
        return frozenset(Marker.parse(k) for k in keys)
