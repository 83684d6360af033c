"""The state file: per group cursors, task snapshots and the ledger of posted mirrors.

The ledger is what makes "each item exactly once, ever" hold between runs: a marker
(`b24m:KIND:TASK:SOURCE`) goes into it, and onto disk, as soon as its mirror is posted.
The master task's own comments carry the same markers, so a lost or corrupt file can be
rebuilt from them (`b24mirror sync --rebuild-state`); this module never guesses.

On disk: one JSON object, ``{"version": 1, "groups": {"42": {...}}}``, mode 0600,
replaced atomically (temp file in the same directory, fsync, rename, fsync of the
directory), so a crash leaves either the old file or the new one, never half of one.

Overlapping cron runs are kept apart by an exclusive, non-blocking ``flock`` on a sidecar
``<state>.lock``: the second run fails at once with `StateLocked` instead of waiting and
then posting what the first one already posted. The kernel drops the lock when its holder
exits, however it exits, so a crashed run leaves no stale lock behind.
"""
from __future__ import annotations

import copy
import errno
import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from b24mirror.atomicfile import fsync_dir, write_private
from b24mirror.models import MARKER_RE, Marker

SCHEMA_VERSION = 1

REBUILD_HINT = (
    "run `b24mirror sync --rebuild-state` to rebuild it from the master tasks' markers, "
    "or move it away"
)


class StateError(Exception):
    """The state file cannot be used; nothing was done."""


class StateLocked(StateError):
    """Another b24mirror run holds the state file's lock."""


class StateCorrupt(StateError):
    """The state file exists but cannot be read as a b24mirror state."""


class StateTooNew(StateCorrupt):
    """The state file was written by a newer b24mirror (a newer schema version)."""


class _Invalid(Exception):
    """A problem in the state's structure; the message says where and what."""


# Paths (resolved) whose lock this process holds, so `rebuild_empty` called under an
# open lock does not try to take it a second time.
_HELD_LOCKS: set[str] = set()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _marker_key(marker: Marker | str) -> str:
    if isinstance(marker, Marker):
        return str(marker)
    if isinstance(marker, str):
        return str(Marker.parse(marker))
    raise TypeError(f"a marker must be a Marker or its string, not {type(marker).__name__}")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if _is_int(value):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@dataclass
class GroupState:
    """What b24mirror remembers about one workgroup."""

    group_id: int
    baseline: str | None = None
    cursor: str | None = None
    runs: int = 0
    last_success: str | None = None
    last_error: dict | None = None
    ledger: dict[str, dict] = field(default_factory=dict)
    tasks: dict[str, dict] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    _owner: "State | None" = field(default=None, repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    def has(self, marker: Marker | str) -> bool:
        """Whether this marker's mirror is recorded as posted."""
        return _marker_key(marker) in self.ledger

    def record_post(self, marker: Marker | str, mirror_id: int | None, posted_at: str) -> None:
        """Record a posted mirror and write the state to disk at once.

        Call it right after the portal accepted the post and before posting the next one:
        a crash after this call cannot lead to a second post of the same item.
        """
        key = _marker_key(marker)
        if mirror_id is not None and not _is_int(mirror_id):
            raise TypeError(f"mirror_id must be an int or None, not {type(mirror_id).__name__}")
        if not isinstance(posted_at, str):
            raise TypeError(f"posted_at must be an ISO date string, not {type(posted_at).__name__}")
        self.ledger[key] = {"id": mirror_id, "posted_at": posted_at}
        if self._owner is not None:
            self._owner.save()

    def record_posts(self, entries: list[tuple[Marker | str, int | None, str]]) -> None:
        """Record several mirrors known to exist (one batch of posts, or a read-back) in one write."""
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

    def to_dict(self) -> dict:
        data = dict(self._extra)
        data.update(
            {
                "baseline": self.baseline,
                "cursor": self.cursor,
                "runs": self.runs,
                "last_success": self.last_success,
                "last_error": self.last_error,
                "ledger": self.ledger,
                "tasks": self.tasks,
                "meta": self.meta,
            }
        )
        return data


class State:
    """The whole state file in memory. Obtain one from `open_state` or `read_state`."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        secret: str | None = None,
        dry_run: bool = False,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.secret = secret or None
        self.dry_run = dry_run
        self.read_only = read_only
        self._groups: dict[int, GroupState] = {}
        self._extra: dict = {}
        self._held = 0  # inside `one_write`: saves wait for its end
        self._owed = False

    @contextmanager
    def one_write(self) -> Iterator[None]:
        """Saves asked for inside the block become one, made when the block ends (failing or not).

        For the records of one request's posts across groups: all of them are on disk before the
        next request is sent, in one write instead of one per group."""
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
        if existing is None:
            existing = self._groups[group_id] = GroupState(group_id, _owner=self)
        return existing

    def groups(self) -> dict[int, GroupState]:
        return dict(self._groups)

    def to_dict(self) -> dict:
        """A deep copy of what `save` writes."""
        return copy.deepcopy(self._document())

    def _document(self) -> dict:
        data = dict(self._extra)
        data["version"] = SCHEMA_VERSION
        data["groups"] = {str(gid): g.to_dict() for gid, g in sorted(self._groups.items())}
        return data

    def save(self) -> None:
        """Write the state atomically, mode 0600. Does nothing in a dry run.

        Raises ValueError, before writing anything, when the state holds something that
        could not be read back (wrong types) or contains the webhook secret.
        """
        if self.dry_run:
            return
        if self.read_only:
            raise StateError(f"state {self.path} was opened read-only (without its lock); it cannot be saved")
        if self._held:
            self._owed = True
            return
        self._owed = False
        document = self._document()
        try:
            _validate(document)
        except _Invalid as exc:
            raise ValueError(f"refusing to write an invalid state to {self.path}: {exc}") from None
        # Compact: written before every request of posts, the file must be quick to write (the C encoder
        # serves only unindented output; a portal of 25,000 tasks writes in a quarter of the time).
        text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
        # JSON escapes character by character: a string holding the secret holds its escaped form in the text.
        if self.secret and json.dumps(self.secret, ensure_ascii=False)[1:-1] in text:
            where = _find_secret(document, self.secret, "")
            if where is not None:
                raise ValueError(
                    f"refusing to write the webhook secret to the state file {self.path} (found in {where})"
                )
        write_private(self.path, text.encode("utf-8"))

    @classmethod
    def _from_document(cls, document: dict, state: "State") -> "State":
        for key, value in document.items():
            if key not in ("version", "groups"):
                state._extra[key] = value
        for gid_text, body in document["groups"].items():
            gid = int(gid_text)
            group = GroupState(gid, _owner=state)
            for key, value in body.items():
                if key in _GROUP_FIELDS:
                    setattr(group, key, value)
                else:
                    group._extra[key] = value
            state._groups[gid] = group
        return state


_GROUP_FIELDS = ("baseline", "cursor", "runs", "last_success", "last_error", "ledger", "tasks", "meta")


def _find_secret(value: Any, secret: str, where: str) -> str | None:
    """The dotted path of the first string (key or value) that contains the secret."""
    if isinstance(value, str):
        return (where or "(top level)") if secret in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and secret in key:
                return f"a key under {where or '(top level)'}"
            found = _find_secret(item, secret, here)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_secret(item, secret, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _expect(value: Any, ok: bool, where: str, wanted: str) -> None:
    if not ok:
        raise _Invalid(f"{where} is {_type_name(value)}, expected {wanted}")


def _check_json(value: Any, where: str) -> None:
    """Free-form parts (task snapshots, meta) must still be plain JSON."""
    if value is None or isinstance(value, (str, bool)) or _is_int(value):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Invalid(f"{where} is not a finite number")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Invalid(f"{where} has a key {key!r} that is not a string")
            _check_json(item, f"{where}.{key}")
        return
    raise _Invalid(f"{where} is {_type_name(value)}, which JSON cannot hold")


def _validate(document: Any) -> None:
    """Check the whole structure; raise _Invalid naming the first problem found."""
    _expect(document, isinstance(document, dict), "the top level", "an object")
    if "version" not in document:
        raise _Invalid('it has no "version"')
    version = document["version"]
    _expect(version, _is_int(version), '"version"', "an integer")
    if version < 1:
        raise _Invalid(f'"version" is {version}, expected {SCHEMA_VERSION}')
    groups = document.get("groups", {})
    _expect(groups, isinstance(groups, dict), '"groups"', "an object")
    for gid, body in groups.items():
        if not (isinstance(gid, str) and gid.isascii() and gid.isdigit() and int(gid) > 0):
            raise _Invalid(f'"groups" has a key {gid!r} that is not a group id')
        where = f"groups.{gid}"
        _expect(body, isinstance(body, dict), where, "an object")
        for name in ("baseline", "cursor", "last_success"):
            value = body.get(name)
            _expect(value, value is None or isinstance(value, str), f"{where}.{name}", "a date string or null")
        runs = body.get("runs", 0)
        _expect(runs, _is_int(runs) and runs >= 0, f"{where}.runs", "a non-negative integer")
        error = body.get("last_error")
        if error is not None:
            _expect(error, isinstance(error, dict), f"{where}.last_error", "an object or null")
            for name in ("at", "message"):
                value = error.get(name)
                _expect(value, isinstance(value, str), f"{where}.last_error.{name}", "a string")
        ledger = body.get("ledger", {})
        _expect(ledger, isinstance(ledger, dict), f"{where}.ledger", "an object")
        for marker, record in ledger.items():
            if not (isinstance(marker, str) and MARKER_RE.fullmatch(marker)):
                raise _Invalid(f"{where}.ledger has a key {marker!r} that is not a b24mirror marker")
            here = f"{where}.ledger.{marker}"
            _expect(record, isinstance(record, dict), here, "an object")
            mirror_id = record.get("id")
            _expect(mirror_id, mirror_id is None or _is_int(mirror_id), f"{here}.id", "an integer or null")
            posted_at = record.get("posted_at")
            _expect(posted_at, isinstance(posted_at, str), f"{here}.posted_at", "a date string")
        tasks = body.get("tasks", {})
        _expect(tasks, isinstance(tasks, dict), f"{where}.tasks", "an object")
        for task_id, snapshot in tasks.items():
            if not (isinstance(task_id, str) and task_id.isascii() and task_id.isdigit()):
                raise _Invalid(f"{where}.tasks has a key {task_id!r} that is not a task id")
            _expect(snapshot, isinstance(snapshot, dict), f"{where}.tasks.{task_id}", "an object")
            _check_json(snapshot, f"{where}.tasks.{task_id}")
        meta = body.get("meta", {})
        _expect(meta, isinstance(meta, dict), f"{where}.meta", "an object")
        _check_json(meta, f"{where}.meta")


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


def _read_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def _acquire(lock: Path, *, create: bool, record_pid: bool) -> int | None:
    """Take the exclusive lock without waiting; the open descriptor holds it.

    Returns None when `create` is false and there is no lock file (so nobody holds it).
    """
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    try:
        fd = os.open(lock, flags, 0o600)
    except FileNotFoundError:
        if not create:
            return None
        raise StateError(f"cannot create lock file {lock}: its directory does not exist") from None
    except OSError as exc:
        raise StateError(f"cannot open lock file {lock}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_holder(fd)
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            who = f" (process {holder})" if holder else ""
            raise StateLocked(
                f"another b24mirror run is in progress{who}: it holds the lock file {lock}. "
                "Nothing was done; the next scheduled run will catch up."
            ) from None
        raise StateError(f"cannot lock {lock}: {exc.strerror or exc}") from None
    if record_pid:
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the pid is only a hint for the StateLocked message
    return fd


@contextmanager
def _locked(path: Path, *, create: bool, record_pid: bool) -> Iterator[None]:
    key = str(path.resolve())
    fd = _acquire(_lock_path(path), create=create, record_pid=record_pid)
    if fd is not None:
        _HELD_LOCKS.add(key)
    try:
        yield
    finally:
        if fd is not None:
            _HELD_LOCKS.discard(key)
            os.close(fd)  # closing the last descriptor releases the flock


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
