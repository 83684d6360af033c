"""The exclusive lock that keeps overlapping runs apart (a sidecar `<state>.lock`, flock).

The kernel drops the lock when its holder exits, however it exits: a crashed run leaves no
stale lock behind. The second run fails at once rather than waiting and then posting what
the first one already posted.
"""
from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from b24mirror.state.errors import StateError, StateLocked

# Paths (resolved) whose lock this process holds, so `rebuild_empty` called under an
# open lock does not try to take it a second time.
_HELD_LOCKS: set[str] = set()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


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
