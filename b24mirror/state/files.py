"""Opening, reading and moving aside the state file; a JSON state (version 1) becomes a database."""
from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from b24mirror.atomicfile import fsync_dir
from b24mirror.state import store
from b24mirror.state.errors import StateError
from b24mirror.state.legacy import fill, read_json
from b24mirror.state.lock import _HELD_LOCKS, _locked
from b24mirror.state.records import State


def backup_path(path: Path) -> Path:
    """Where a migrated JSON state is kept: beside the database, under its own name."""
    return path.with_name(path.name + ".v1.json")


def _check_readable(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror or exc}") from None
    if not size:
        raise store.corrupt(path, "it is empty (0 bytes)")
    if not os.access(path, os.R_OK | os.W_OK):
        raise StateError(f"cannot read and write state file {path}: permission denied; "
                         "run b24mirror as the user that owns it")


def migrate(path: Path) -> Path:
    """Turn the JSON state at `path` into a database at the same path, keeping the JSON beside it.

    The database is built whole under a temporary name first, then takes the JSON's place in one
    rename: a crash at any step leaves the JSON state where it was, to be migrated again."""
    document = read_json(path)
    building = path.with_name(f".{path.name}.migrating")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm"), Path(f"{building}-journal")):
        leftover.unlink(missing_ok=True)
    conn = store.create(building)
    try:
        fill(conn, document)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    backup = backup_path(path)
    shutil.copy2(path, backup)  # a copy, not the original's inode: the rename below replaces it
    with open(backup, "rb") as handle:
        os.fsync(handle.fileno())
    for suffix in ("-wal", "-shm"):  # a JSON state has no log: any beside it is stale
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(building, path)
    fsync_dir(path.parent)
    return backup


def _open(path: Path, *, secret: str | None, dry_run: bool, read_only: bool) -> State:
    if not path.exists():
        if read_only or dry_run:  # a dry run creates nothing on disk
            return State(path, secret=secret, dry_run=dry_run, read_only=read_only, conn=store.memory())
        return State(path, secret=secret, conn=store.create(path))
    _check_readable(path)
    if not store.is_sqlite(path):
        if read_only or dry_run:  # read the JSON state as it is; the first real run migrates it
            conn = store.memory()
            fill(conn, read_json(path))
            return State(path, secret=secret, dry_run=dry_run, read_only=read_only, conn=conn)
        migrate(path)
    if not (read_only or dry_run) and path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)  # made readable by hand: private again before anything is written (-wal follows it)
    conn = store.open_existing(path, read_only=read_only or dry_run)
    return State(path, secret=secret, dry_run=dry_run, read_only=read_only, conn=conn)


@contextmanager
def open_state(
    path: str | os.PathLike,
    *,
    secret: str | None = None,
    lock: bool = True,
    dry_run: bool = False,
) -> Iterator[State]:
    """Lock the state file, open it and yield the `State`; the lock is released on exit.

    A missing file is a fresh, empty state (created at once unless in a dry run); a JSON state
    is migrated first. Raises `StateLocked` at once when another run holds the lock,
    `StateCorrupt` for an unreadable file (catch it to rebuild, after `rebuild_empty`), and
    `StateTooNew` (a `StateCorrupt`, never to be rebuilt) for a file written by a newer b24mirror.

    `lock=False` skips the lock (read-only commands). `dry_run=True` makes `save` a no-op
    and creates nothing on disk: it takes the lock only when the lock file already exists.
    """
    path = Path(path)
    if not lock:
        state = _open(path, secret=secret, dry_run=dry_run, read_only=False)
        try:
            yield state
        finally:
            state.close()
        return
    with _locked(path, create=not dry_run, record_pid=not dry_run):
        state = _open(path, secret=secret, dry_run=dry_run, read_only=False)
        try:
            yield state
        finally:
            state.close()


def read_state(path: str | os.PathLike, *, secret: str | None = None) -> State:
    """Open the state without taking the lock (status, audit): it reads the last commit while a sync
    writes. The result cannot be saved."""
    return _open(Path(path), secret=secret, dry_run=False, read_only=True)


def verify(path: str | os.PathLike) -> str:
    """Open the state as `read_state` does and check every page of it: "ok", or what SQLite found torn.

    Raises what opening raises (`StateCorrupt`, `StateTooNew`, `StateError`). Costs time in the size of the
    history, so only `check` asks it; a run checks the pages it always reads first (store.check)."""
    state = read_state(path)
    try:
        return store.full_check(state._conn)
    except sqlite3.DatabaseError as exc:  # a page too torn to be walked at all
        return str(exc)
    finally:
        state.close()


def rebuild_empty(path: str | os.PathLike) -> Path | None:
    """Move the state file aside to `<path>.corrupt-<UTC timestamp>` so a fresh one can be
    written; the old file is kept for the user. Returns where it went (None if there was
    no file). Takes the lock unless this process already holds it."""
    path = Path(path)
    if str(path.resolve()) in _HELD_LOCKS:
        return _move_aside(path)
    with _locked(path, create=True, record_pid=True):
        return _move_aside(path)


def _move_aside(path: Path) -> Path | None:
    if not path.exists():
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    os.rename(path, target)
    for suffix in ("-wal", "-shm"):  # a database's log belongs with it: a fresh one must not replay it
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.rename(side, Path(f"{target}{suffix}"))
    fsync_dir(path.parent)
    return target
