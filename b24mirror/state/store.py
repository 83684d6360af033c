"""The SQLite file under the state: its tables, opening it, and telling a corrupt one apart.

Tables are keyed for the look-ups the engine makes: the ledger by (group, kind, task, item), so
"this marker", "the markers of this task" and "the subtasks announced" are each one range of
the primary key; snapshots by (group, task); the group's other records (pending tasks, held
digest items, refused posts, notices, source hashes) one row per name, loaded when first read.

WAL with `synchronous=FULL`: a commit is on disk (fsynced) before it returns, a reader (`status`,
`audit`) sees the last commit while a sync writes, and a crash at any point leaves the last
commit whole. The file is created 0600; SQLite gives its -wal and -shm files the same mode.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from b24mirror.state.errors import REBUILD_HINT, StateCorrupt, StateError, StateTooNew

# 1 was the JSON document; 2 is this database; 3 adds the ledger kind `message` (5): a build that knows only
# 2 would misread those rows, so it is told the state is too new instead. A 2 is stamped 3 when opened to write.
SCHEMA_VERSION = 3
APPLICATION_ID = 0x6232346D  # "b24m": what tells our database apart from any other SQLite file
SQLITE_HEADER = b"SQLite format 3\x00"

KIND_CODES = {"comment": 1, "event": 2, "subtask": 3, "result": 4, "message": 5}  # stored: never renumber
KIND_NAMES = {code: name for name, code in KIND_CODES.items()}

_SCHEMA = """
CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE groups (group_id INTEGER PRIMARY KEY, body TEXT NOT NULL, ledger_size INTEGER NOT NULL DEFAULT 0);
CREATE TABLE ledger (
    group_id INTEGER NOT NULL, kind INTEGER NOT NULL, task_id INTEGER NOT NULL, source_id INTEGER NOT NULL,
    mirror_id INTEGER, posted_at TEXT NOT NULL, extra TEXT,
    PRIMARY KEY (group_id, kind, task_id, source_id)) WITHOUT ROWID;
CREATE TABLE tasks (group_id INTEGER NOT NULL, task_id TEXT NOT NULL, snapshot TEXT NOT NULL,
    PRIMARY KEY (group_id, task_id)) WITHOUT ROWID;
CREATE TABLE meta (group_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (group_id, key)) WITHOUT ROWID;
"""
_TABLES = {"info", "groups", "ledger", "tasks", "meta"}


def corrupt(path: Path, what: str) -> StateCorrupt:
    return StateCorrupt(f"state file {path} is corrupt: {what}. To fix it, {REBUILD_HINT}.")


def too_new(path: Path, version: int, readable: int = SCHEMA_VERSION) -> StateTooNew:
    return StateTooNew(
        f"state file {path} was written by a newer b24mirror (state version {version}; "
        f"this b24mirror reads version {readable}). Upgrade b24mirror to use it; "
        "do not rebuild or delete it."
    )


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


class _Connection(sqlite3.Connection):
    """A page found torn in the middle of a run is a corrupt state (exit 4, the fix named), not a crash."""

    def execute(self, *args, **kwargs):
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if type(exc) is not sqlite3.DatabaseError and "malformed" not in text and "not a database" not in text:
                raise  # busy, full disk, read-only, a wrong statement: the caller says what it was doing
            raise corrupt(Path(self.state_path), f"SQLite cannot read it ({exc})") from None


def _connect(target: str) -> sqlite3.Connection:
    # Autocommit mode: every transaction is begun and ended explicitly (`State._commit`).
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, factory=_Connection)
    conn.state_path = target
    conn.execute("PRAGMA busy_timeout = 5000")  # a reader meeting a checkpoint waits, never fails
    return conn


def create(path: Path) -> sqlite3.Connection:
    """A new, empty state database at `path` (which must not exist), mode 0600."""
    for suffix in ("-wal", "-shm", "-journal"):  # a log left by a database no longer there must not be replayed
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask
    os.close(fd)
    conn = _connect(str(path))
    init(conn)
    return conn


def init(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] not in ("wal", "memory"):
        raise StateError("the state database cannot use a write-ahead log on this file system")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript("BEGIN;" + _SCHEMA + f"INSERT INTO info VALUES ('version', '{SCHEMA_VERSION}');COMMIT;")


def memory() -> sqlite3.Connection:
    conn = _connect(":memory:")
    init(conn)
    return conn


def _truncated(path: Path) -> bool:
    """The header's page count against the file's size (valid when its two change counters agree)."""
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100:
        return True
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counted = header[24:28] == header[92:96] and pages > 0
    return counted and path.stat().st_size < page_size * pages


def open_existing(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """Open and check a state database: ours, not too new, its tables whole."""
    if _truncated(path):
        raise corrupt(path, "it is shorter than its own header says (truncated)")
    try:
        conn = _connect(str(path))
        if read_only:
            conn.execute("PRAGMA query_only = 1")
        else:
            conn.execute("PRAGMA synchronous = FULL")
        check(conn, path)
        if not read_only:
            _stamp_current(conn)
    except sqlite3.DatabaseError as exc:
        raise corrupt(path, f"SQLite cannot read it ({exc})") from None
    return conn


def _stamp_current(conn: sqlite3.Connection) -> None:
    """An older database of the same tables is this version's too (3 only adds a kind code): say so on disk."""
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        conn.executescript(f"BEGIN; PRAGMA user_version = {SCHEMA_VERSION}; "
                           f"INSERT OR REPLACE INTO info VALUES ('version', '{SCHEMA_VERSION}'); COMMIT;")


def check(conn: sqlite3.Connection, path: Path) -> None:
    """The integrity check made at every open: costs the same however long the history."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        raise corrupt(path, "it is an SQLite database, but not a b24mirror state")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise too_new(path, version)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    if not _TABLES <= names:
        raise corrupt(path, f"tables missing: {', '.join(sorted(_TABLES - names))}")
    # The pages the engine always reads first (groups, the ledger's root): a torn page shows here.
    conn.execute("SELECT count(*) FROM groups").fetchone()
    conn.execute("SELECT 1 FROM ledger LIMIT 1").fetchone()
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        raise corrupt(path, "its journal mode is not WAL (changed by hand?)")


def full_check(conn: sqlite3.Connection) -> str:
    """SQLite's own check of every page ("ok" when whole): costs time in the size of the history."""
    return "; ".join(row[0] for row in conn.execute("PRAGMA quick_check"))
