"""Pacing on our side, so the portal never has to refuse us.

* A leaky bucket mirroring the portal's (each request adds 1, the level drains at `per_second`, at most `burst`),
  kept a little below the portal's so latency jitter cannot tip it over. One bucket per run: pass the same
  Pacer to every client that talks to the portal.
* QUERY_LIMIT_EXCEEDED (someone else shares our limit) fills the bucket and slows the drain; it recovers slowly.
* time.operating: as a method's operating time nears its budget, calls to it are spaced out; after
  OPERATION_TIME_LIMIT the method is not called again before operating_reset_at.
"""
from __future__ import annotations

import threading
import time as _time
from dataclasses import dataclass
from typing import Callable

from b24mirror.bitrix.errors import BudgetExceeded, DeadlineExceeded


@dataclass(frozen=True)
class RateLimit:
    burst: int
    per_second: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError(f"RateLimit needs burst >= 1 and per_second > 0, got {self.burst}, {self.per_second}")


STANDARD = RateLimit(50, 2.0)
ENTERPRISE = RateLimit(250, 5.0)

DEFAULT_OPERATING_BUDGET = 480.0  # seconds of execution time per method per 10 minutes (cloud)
SLOWDOWN_FROM = 0.5  # share of the budget after which calls to a method are spaced out
MAX_SLOWDOWN_DELAY = 5.0  # seconds between calls to a method at 100% of its budget
UNKNOWN_RESET = 600.0  # the window is 10 minutes: the longest a block can last


class Pacer:
    """Shared, thread-safe pacing state for one run against one portal."""

    def __init__(self, rate: RateLimit | None = STANDARD, *, clock: Callable[[], float] = _time.monotonic,
                 sleep: Callable[[float], None] = _time.sleep, wall: Callable[[], float] = _time.time,
                 headroom: float = 0.1, operating_budget: float = DEFAULT_OPERATING_BUDGET) -> None:
        self.rate = rate
        self.clock, self._sleep, self.wall = clock, sleep, wall
        self.operating_budget = operating_budget
        self._lock = threading.Lock()
        if rate is not None:
            margin = max(1, int(rate.burst * headroom)) if rate.burst > 2 else 0
            self.capacity = float(max(1, rate.burst - margin))
            self.drain = rate.per_second * (1.0 - headroom / 2)
        else:
            self.capacity, self.drain = float("inf"), float("inf")
        self._full_drain = self.drain
        self._level = 0.0
        self._stamp = clock()
        self._operating: dict[str, float] = {}  # method -> last seen time.operating
        self._next_call: dict[str, float] = {}  # method -> earliest monotonic time for its next call
        self._blocked: dict[str, tuple[float, float | None]] = {}  # method -> (monotonic until, unix reset_at)
        self._reset_at: dict[str, float] = {}  # method -> last seen operating_reset_at (unix)
        self.waited = 0.0
        self.refusals = 0

    # ---- the bucket -------------------------------------------------------------------------------------------
    def _leak(self, now: float) -> None:
        if self.rate is None:
            return
        self._level = max(0.0, self._level - (now - self._stamp) * self.drain)
        self._stamp = now

    def reserve(self, n: int = 1) -> float:
        """Take n slots; returns how long the caller must wait before sending (0 if it may go now)."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = self.clock()
            self._leak(now)
            overflow = self._level + n - self.capacity
            self._level += n
            return overflow / self.drain if overflow > 0 else 0.0

    def acquire(self, method: str | None = None, *, deadline: float | None = None) -> float:
        """Block until one request may go; raises BudgetExceeded for a blocked method and DeadlineExceeded when
        the wait would end after the deadline. Returns the seconds waited."""
        if method:
            self.check_budget(method)
        wait = max(self.reserve(1), self._method_delay(method))
        if wait > 0:
            if deadline is not None and self.clock() + wait > deadline:
                self.release(1)
                raise DeadlineExceeded("DEADLINE", f"pacing would wait {wait:.1f}s past the run deadline", method=method)
            self._sleep(wait)
            with self._lock:
                self.waited += wait
        if method:
            with self._lock:
                self._next_call[method.lower()] = self.clock()
        return wait

    def release(self, n: int = 1) -> None:
        with self._lock:
            self._level = max(0.0, self._level - n)

    def refused(self) -> None:
        """The portal said QUERY_LIMIT_EXCEEDED: someone shares our limit. Fill the bucket and slow down."""
        if self.rate is None:
            return
        with self._lock:
            self.refusals += 1
            self._leak(self.clock())
            self._level = max(self._level, self.capacity)
            self.drain = max(self._full_drain * 0.25, self.drain * 0.7)

    def accepted(self) -> None:
        if self.rate is None or self.drain >= self._full_drain:
            return
        with self._lock:
            self.drain = min(self._full_drain, self.drain * 1.02)

    @property
    def level(self) -> float:
        with self._lock:
            self._leak(self.clock())
            return self._level

    # ---- the operating budget ---------------------------------------------------------------------------------
    def observe(self, method: str, time_info: dict | list | None) -> None:
        """Feed a response's `time` (or a batch command's result_time entry)."""
        if not isinstance(time_info, dict) or not method:
            return
        key = method.lower()
        with self._lock:
            operating = time_info.get("operating")
            if isinstance(operating, (int, float)):
                self._operating[key] = float(operating)
            reset_at = time_info.get("operating_reset_at")
            if isinstance(reset_at, (int, float)):
                self._reset_at[key] = float(reset_at)

    def operating_share(self, method: str) -> float:
        with self._lock:
            return self._operating.get(method.lower(), 0.0) / self.operating_budget if self.operating_budget else 0.0

    def _method_delay(self, method: str | None) -> float:
        if not method:
            return 0.0
        share = self.operating_share(method)
        if share <= SLOWDOWN_FROM:
            return 0.0
        gap = MAX_SLOWDOWN_DELAY * min(1.0, (share - SLOWDOWN_FROM) / (1.0 - SLOWDOWN_FROM))
        with self._lock:
            last = self._next_call.get(method.lower())
        if last is None:
            return 0.0
        return max(0.0, last + gap - self.clock())

    def block(self, method: str, reset_at: float | None = None, server_now: float | None = None) -> float:
        """OPERATION_TIME_LIMIT: do not call `method` before reset_at (unix). Returns the reset_at recorded."""
        key = method.lower()
        with self._lock:
            if reset_at is None:
                reset_at = self._reset_at.get(key)
            now_unix = server_now if server_now is not None else self.wall()
            if reset_at is None or reset_at <= now_unix:
                reset_at = now_unix + UNKNOWN_RESET if reset_at is None else reset_at
            remaining = max(0.0, reset_at - now_unix)
            self._blocked[key] = (self.clock() + remaining, reset_at)
            return reset_at

    def check_budget(self, method: str) -> None:
        key = method.lower()
        with self._lock:
            blocked = self._blocked.get(key)
            if blocked is None:
                return
            until, reset_at = blocked
            if self.clock() >= until:
                del self._blocked[key]
                self._operating.pop(key, None)
                return
        raise BudgetExceeded("OPERATION_TIME_LIMIT", "method used up its operating time budget; not calling it "
                             "again before the reset", method=method, reset_at=reset_at)

    def blocked(self, method: str) -> bool:
        try:
            self.check_budget(method)
        except BudgetExceeded:
            return True
        return False
