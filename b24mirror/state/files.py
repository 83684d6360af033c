"""Opening, reading and moving aside the state file."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from b24mirror.atomicfile import fsync_dir
from b24mirror.state.errors import REBUILD_HINT, StateCorrupt, StateError, StateTooNew
from b24mirror.state.lock import _HELD_LOCKS, _locked
from b24mirror.state.records import State
from b24mirror.state.schema import SCHEMA_VERSION, _Invalid, _is_int, _validate


def _corrupt(path: Path, what: str) -> StateCorrupt:
    return StateCorrupt(f"state file {path} is corrupt: {what}. To fix it, {REBUILD_HINT}.")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load(state: State) -> State:
    path = state.path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return state
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror or exc}") from None
    if not raw:
        raise _corrupt(path, "it is empty (0 bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _corrupt(path, "it is not text (binary data, not UTF-8 JSON)") from None
    if "\x00" in text:
        raise _corrupt(path, "it is not text (it contains NUL bytes)")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _corrupt(path, f"it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; truncated?)") from None
    except (ValueError, RecursionError) as exc:
        raise _corrupt(path, f"it is not valid JSON ({exc})") from None
    version = document.get("version") if isinstance(document, dict) else None
    if _is_int(version) and version > SCHEMA_VERSION:
        raise StateTooNew(
            f"state file {path} was written by a newer b24mirror (state version {version}; "
            f"this b24mirror reads version {SCHEMA_VERSION}). Upgrade b24mirror to use it; "
            "do not rebuild or delete it."
        )
    try:
        _validate(document)
    except _Invalid as exc:
        raise _corrupt(path, str(exc)) from None
    return State._from_document(document, state)


@contextmanager
def open_state(
    path: str | os.PathLike,
    *,
    secret: str | None = None,
    lock: bool = True,
    dry_run: bool = False,
) -> Iterator[State]:
    """Lock the state file, load it and yield the `State`; the lock is released on exit.

    A missing file is a fresh, empty state. Raises `StateLocked` at once when another run
    holds the lock, `StateCorrupt` for an unreadable file (catch it to rebuild, after
    `rebuild_empty`), and `StateTooNew` (a `StateCorrupt`, never to be rebuilt) for a file
    written by a newer b24mirror.

    `lock=False` skips the lock (read-only commands). `dry_run=True` makes `save` a no-op
    and creates nothing on disk: it takes the lock only when the lock file already exists.
    """
    path = Path(path)
    state = State(path, secret=secret, dry_run=dry_run)
    if not lock:
        yield _load(state)
        return
    with _locked(path, create=not dry_run, record_pid=not dry_run):
        yield _load(state)


def read_state(path: str | os.PathLike, *, secret: str | None = None) -> State:
    """Load the state without taking the lock (status, audit). The result cannot be saved."""
    return _load(State(path, secret=secret, read_only=True))


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
    fsync_dir(path.parent)
    return target
