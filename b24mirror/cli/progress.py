"""Progress of long posting runs (a backfill, a repair): a bar with an ETA on a terminal; elsewhere, under
-v, a line a minute; under cron without -v, nothing."""
from __future__ import annotations

import time
from typing import Callable

import click

MIN_TOTAL = 5  # a few posts finish before progress is worth reading


def _eta(started: float, now: float, done: int, total: int) -> str:
    if done <= 0 or done >= total:
        return ""
    left = (now - started) / done * (total - done)
    if left < 1:
        return ""
    return f", about {int(left // 60)}m{int(left % 60):02d}s left" if left >= 60 else f", about {int(left)}s left"


class ProgressBar:
    """One line on a terminal while a group posts many mirrors, with the time left at the pace so far."""

    def __init__(self, width: int = 30, clock: Callable[[], float] = time.monotonic) -> None:
        self.width = width
        self.shown = False
        self.clock = clock
        self.started: dict[int, float] = {}

    def __call__(self, group_id: int, done: int, total: int) -> None:
        if total < MIN_TOTAL:
            return
        started = self.started.setdefault(group_id, self.clock())
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        eta = _eta(started, self.clock(), done, total)
        click.echo(f"\rgroup {group_id}: posting [{bar}] {done}/{total}{eta}\x1b[K", err=True, nl=False)
        self.shown = True
        if done == total:
            self.close()

    def close(self) -> None:
        if self.shown:
            click.echo("", err=True)
            self.shown = False


class MinuteLines:
    """Where no terminal shows a bar (a pipe, a journal): with -v, one line a minute per group, and the last."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 echo: Callable[[str], None] = lambda line: click.echo(line, err=True)) -> None:
        self.clock, self.echo = clock, echo
        self.started: dict[int, float] = {}
        self.said: dict[int, float] = {}

    def __call__(self, group_id: int, done: int, total: int) -> None:
        if total < MIN_TOTAL:
            return
        now = self.clock()
        started = self.started.setdefault(group_id, now)
        if done < total and now - self.said.get(group_id, started) < 60:
            return
        self.said[group_id] = now
        self.echo(f"group {group_id}: posted {done}/{total}{_eta(started, now, done, total)}")

    def close(self) -> None:
        pass


def progress_for(verbosity: int, on_terminal: bool):
    """The progress a run shows: a bar on a terminal (not with -q), minute lines with -v elsewhere."""
    if on_terminal and verbosity >= 0:
        return ProgressBar()
    return MinuteLines() if verbosity > 0 else None
