"""The status report: when one is due, and what it says. Pure: the clock and the tasks are handed in.

Periods are the portal's: `every: 1w` runs Monday 00:00 to Monday 00:00 in the portal's zone (any
period is aligned to a Monday midnight), `every: ["Mon 09:00"]` from one listed moment to the next. A
report is due for the latest period that has ended when none was posted for it and mirroring began
before it ended; its own token (`b24m-report:MASTER:END`, END the period's end in unix seconds) in
the master says it was posted, so a lost state or a lost answer never posts it twice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from b24mirror.config.settings import ReportConfig, Rules
from b24mirror.policy.models import HistoryEvent, Task, parse_date, readable_date
from b24mirror.policy.plan import subtree_verdict
from b24mirror.policy.shown import branch_hidden

STATUS_COMPLETED, STATUS_DECLINED = 5, 7
CLOSED = (STATUS_COMPLETED, STATUS_DECLINED)
TOKEN_RE = re.compile(r"b24m-report:(\d+):(\d+)")


def token(master_id: int, period_end: datetime) -> str:
    return f"b24m-report:{master_id}:{int(period_end.timestamp())}"


def reported_ends(master_id: int, texts: Iterable[str]) -> set[int]:
    """The period ends (unix seconds) the master already holds a report for, from our own comments' texts."""
    return {int(m.group(2)) for text in texts for m in TOKEN_RE.finditer(text or "") if int(m.group(1)) == master_id}


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    next_end: datetime  # the end of the period now running: "deadlines in the coming period" fall before it


def last_period(config: ReportConfig, now: datetime) -> Period | None:
    """The latest period that has ended at `now` (an aware datetime in the portal's zone)."""
    if config.every:
        step = timedelta(seconds=config.every)
        monday = datetime(1970, 1, 5, tzinfo=now.tzinfo)
        end = monday + step * ((now - monday) // step)
        return Period(end - step, end, end + step)
    moments = sorted(_moments(config, now))
    past = [m for m in moments if m <= now]
    if len(past) < 2:
        return None
    end = past[-1]
    return Period(past[-2], end, min(m for m in moments if m > end))


def _moments(config: ReportConfig, now: datetime) -> Iterable[datetime]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for days in range(-15, 16):
        day = midnight + timedelta(days=days)
        for weekday, hour, minute in config.times:
            if weekday is None or day.weekday() == weekday:
                yield day.replace(hour=hour, minute=minute)


def due(config: ReportConfig | None, now: datetime, last_end: int | None, baseline: datetime | None) -> Period | None:
    """The period a report is due for, or None: none ended yet, its report was posted (as far as the state
    knows), or mirroring began only after it started (the first report waits for the first whole period)."""
    if config is None:
        return None
    period = last_period(config, now)
    if period is None or (last_end is not None and last_end >= int(period.end.timestamp())):
        return None
    if baseline is None or baseline > period.start:
        return None
    return period


@dataclass
class Facts:
    """What the report says, every list of subtasks in the order a reader scans it."""

    done: int = 0  # first-level subtasks completed
    total: int = 0  # first-level subtasks
    completed: list[Task] = field(default_factory=list)  # completed in the period
    overdue: list[tuple[Task, int]] = field(default_factory=list)  # (task, days late), most late first
    moved: list[tuple[Task, HistoryEvent]] = field(default_factory=list)  # (task, first old → last new deadline)
    created: list[Task] = field(default_factory=list)  # new in the period
    coming: list[Task] = field(default_factory=list)  # deadline in the coming period

    @property
    def quiet(self) -> bool:
        return not (self.completed or self.overdue or self.moved or self.created or self.coming)


def _set(value: str | None) -> bool:
    """A deadline given at all: one set for the first time has moved nowhere."""
    return str(value or "").strip() not in ("", "0")


def facts(master: Task, tasks: Mapping[int, Task], history: Mapping[int, list[HistoryEvent]], period: Period, *,
          depth: int, rules: Rules) -> Facts:
    """The report's figures for the master's subtree (within `depth`), as of the period's end."""
    found = Facts()
    inside = [t for t in tasks.values() if subtree_verdict(t, master, tasks, depth) is None]
    first_level = [t for t in inside if t.parent_id == master.id]
    found.total = len(first_level)
    found.done = sum(1 for t in first_level if t.status == STATUS_COMPLETED)
    start, end = period.start, period.end

    def within(date: str | None, since: datetime, until: datetime) -> bool:
        return bool(date) and readable_date(date) and since <= parse_date(date) < until

    for task in sorted(inside, key=lambda t: t.id):
        if branch_hidden(task, tasks, rules, master.id):
            continue  # counted, never named
        rows = sorted(history.get(task.id, []), key=lambda e: (parse_date(e.date), e.id))
        in_period = [e for e in rows if within(e.date, start, end)]
        if task.status == STATUS_COMPLETED and any(
                (e.field or "").upper() == "STATUS" and str(e.after or "").strip() == str(STATUS_COMPLETED)
                for e in in_period):
            found.completed.append(task)
        moves = [e for e in in_period if (e.field or "").upper() == "DEADLINE"]
        if moves and _set(moves[0].before) and (moves[0].before or "") != (moves[-1].after or ""):
            found.moved.append((task, replace(moves[-1], before=moves[0].before)))
        if within(task.created_date, start, end):
            found.created.append(task)
        if task.status in CLOSED or not task.deadline or not readable_date(task.deadline):
            continue
        deadline = parse_date(task.deadline)
        if deadline < end:
            found.overdue.append((task, max(0, (end - deadline).days)))
        elif deadline < period.next_end:
            found.coming.append(task)
    found.overdue.sort(key=lambda pair: (-pair[1], pair[0].id))
    found.coming.sort(key=lambda t: (parse_date(t.deadline), t.id))
    return found
