"""SIGINT and SIGTERM during a sync: stop with a documented exit code, not a traceback.

The ledger is on disk after every request of posts, so leaving between two statements loses
nothing: a post the portal accepted but the ledger missed is found by the next run's read-back
of the master. The handler raises `Stopped`, a BaseException, so no `except Exception` in the
engine swallows it.
"""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

from b24mirror.exitcodes import ExitCode

EXIT_OF_SIGNAL = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}


class Stopped(BaseException):
    """A signal asked the run to stop. `posted` counts the mirrors this run had recorded by then."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.posted = 0

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_OF_SIGNAL.get(self.signum, ExitCode.TERMINATED)


_deferred: list[int] = []  # signals that arrived while a write was in flight
_writing = 0


def _raise_stopped(signum, frame) -> None:
    if _writing:
        _deferred.append(signum)  # the write in flight is settled and recorded first
        return
    raise Stopped(signum)


@contextmanager
def write_in_flight() -> Iterator[None]:
    """A safe stop point around one request of writes and its ledger record: a signal that arrives
    inside waits for the block's end, so a post the portal took is always recorded before stopping."""
    global _writing
    _writing += 1
    try:
        yield
    finally:
        _writing -= 1
        if not _writing and _deferred:
            signum = _deferred.pop(0)
            _deferred.clear()
            raise Stopped(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM raise `Stopped`; the old handlers come back after it."""
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in EXIT_OF_SIGNAL}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
