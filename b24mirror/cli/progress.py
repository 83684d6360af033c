"""Progress of long runs: posting many mirrors (a backfill, a repair) and reading many tasks (one batched
call of many requests). A bar with an ETA on a terminal; elsewhere, under -v, a line a minute; under cron
without -v, nothing."""
from __future__ import annotations

import time
from typing import Callable

import click

MIN_TOTAL = 5  # a few posts finish before progress is worth reading
MIN_READ_REQUESTS = 3  # a read of one or two requests is over before a bar could say anything
READING = "reading"  # the key of a read's progress: a batch serves every group at once


def _eta(started: float, now: float, done: int, total: int) -> str:
    if done <= 0 or done >= total:
        return ""
    left = (now - started) / done * (total - done)
    if left < 1:
        return ""
    return f", about {int(left // 60)}m{int(left % 60):02d}s left" if left >= 60 else f", about {int(left)}s left"


class ProgressBar:
    """One line on a terminal while a group posts many mirrors, or the portal is read in many requests, with
    the time left at the pace so far."""

    def __init__(self, width: int = 30, clock: Callable[[], float] = time.monotonic) -> None:
        self.width = width
        self.shown = False
        self.clock = clock
        self.started: dict[object, float] = {}

    def __call__(self, group_id: int, done: int, total: int) -> None:
        if total >= MIN_TOTAL:
            self._draw(group_id, f"group {group_id}: posting", done, total, "")

    def reading(self, done: int, total: int) -> None:
        if total >= MIN_READ_REQUESTS:
            self._draw(READING, "reading the portal", done, total, " requests")

    def _draw(self, key: object, label: str, done: int, total: int, unit: str) -> None:
        if done <= 1 and key == READING:
            self.started.pop(key, None)  # every batch of reads is its own: its pace starts anew
        started = self.started.setdefault(key, self.clock())
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        eta = _eta(started, self.clock(), done, total)
        click.echo(f"\r{label} [{bar}] {done}/{total}{unit}{eta}\x1b[K", err=True, nl=False)
        self.shown = True
        if done == total:
            self.close()

    def close(self) -> None:
        if self.shown:
            click.echo("", err=True)
            self.shown = False


class MinuteLines:
    """Where no terminal shows a bar (a pipe, a journal): with -v, one line a minute per group (or read), and
    the last."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 echo: Callable[[str], None] = lambda line: click.echo(line, err=True)) -> None:
        self.clock, self.echo = clock, echo
        self.started: dict[object, float] = {}
        self.said: dict[object, float] = {}

    def __call__(self, group_id: int, done: int, total: int) -> None:
        if total >= MIN_TOTAL:
            self._say(group_id, f"group {group_id}: posted", done, total, "")

    def reading(self, done: int, total: int) -> None:
        if total >= MIN_READ_REQUESTS:
            if done <= 1:
                self.started.pop(READING, None)
                self.said.pop(READING, None)
            self._say(READING, "read", done, total, " requests")

    def _say(self, key: object, label: str, done: int, total: int, unit: str) -> None:
        now = self.clock()
        started = self.started.setdefault(key, now)
        if done < total and now - self.said.get(key, started) < 60:
            return
        self.said[key] = now
        self.echo(f"{label} {done}/{total}{unit}{_eta(started, now, done, total)}")

    def close(self) -> None:
        pass


def progress_for(verbosity: int, on_terminal: bool):
    """The progress a run shows: a bar on a terminal (not with -q), minute lines with -v elsewhere."""
    if on_terminal and verbosity >= 0:
        return ProgressBar()
    return MinuteLines() if verbosity > 0 else None
