"""What every phase shares: the run's context, failure isolation per group, small wire helpers."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from b24mirror import bitrix
from b24mirror.policy.models import BadDate, parse_date
from b24mirror.portal import PAGE, Portal
from b24mirror.config.settings import Config
from b24mirror.state import State
from b24mirror.sync.records import GroupFailed, GroupRun, SyncOptions

log = logging.getLogger("b24mirror.sync")

# Read changes with an overlap: a task changed in the second the cursor was taken, or a
# portal node whose clock is a little behind, must not fall between two runs.
CURSOR_OVERLAP = timedelta(minutes=10)


@dataclass
class Context:
    config: Config
    portal: Portal
    state: State
    options: SyncOptions
    progress: Callable[[str, int, int], None]  # (the lane's label, done, total)

    @property
    def me(self) -> int:
        return self.portal.own_user_id


def guarded(runs: list[GroupRun], step: Callable[[list[GroupRun]], None]) -> None:
    """Run a step for several groups; a failure marks those groups failed, not the run."""
    if not runs:
        return
    try:
        step(runs)
    except bitrix.DeadlineExceeded as exc:
        if exc.__cause__ is None:  # time ran out: not a failure, the next run goes on from what this one kept
            for run in runs:
                run.report.out_of_time = True
            return
        fail(runs, exc)  # the portal kept failing until no time was left to try again: that is the failure
    except (bitrix.BitrixError, GroupFailed, BadDate) as exc:
        fail(runs, exc)


def fail(runs: list[GroupRun], exc: BaseException) -> None:
    if isinstance(exc, bitrix.AuthError):
        raise exc  # a refused webhook fails every group alike: say it once
    for run in runs:
        if run.report.ok:
            run.report.error = describe(exc)


def each(runs: list[GroupRun], step: Callable[[GroupRun], None]) -> None:
    """Apply a step group by group, so that one group's failure stays that group's."""
    for run in runs:
        if run.report.ok:
            guarded([run], lambda rs: step(rs[0]))


def ok(runs: list[GroupRun]) -> list[GroupRun]:
    return [run for run in runs if run.report.ok]


def unwrap(value):
    """An answer of a batched read: the value, or its error raised."""
    if isinstance(value, bitrix.BitrixError):
        raise value
    return value


def chunks(ids: list[int], size: int = PAGE) -> list[list[int]]:
    """Lists by id come back a page (50) at a time: ask for at most a page per command."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def cursor_since(cursor: str | None) -> datetime | None:
    """Where a read of changes starts: the cursor less the overlap (None: no cursor yet)."""
    return parse_date(cursor) - CURSOR_OVERLAP if cursor else None


def wire_date(value: datetime) -> str:
    """A date filter value the portal's strtotime reads as meant: ISO 8601 with its offset."""
    return value.isoformat(timespec="seconds")


def local_now() -> str:
    """For the record shown by `status` only: cursors and baselines come from the portal's dates."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def describe(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__


def source_hashes(run) -> dict:
    """Marker -> hash of the source text a mirror shows: an edit is applied once, when the hash moves; a
    result is matched to the comment it was made from by it."""
    return run.state.meta.setdefault("source_hashes", {})
