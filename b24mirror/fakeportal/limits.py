"""Cloud limits: the request-rate leaky bucket and the per-method operating-time budget.

Both run on the portal clock, so an injected clock (or time_scale) controls drain and windows."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

PLANS = {
    # plan: (burst X, drain Y per second), per settings/performance/limits.md
    "standard": (50, 2.0),
    "enterprise": (250, 5.0),
}

OPERATING_WINDOW = 600.0  # ten one-minute buckets


class LeakyBucket:
    """Each accepted request adds 1; the counter drains by `rate` per second. A request that finds the
    counter at the burst size (the 51st of a burst on a standard plan) is refused and adds nothing."""

    def __init__(self, burst: int, rate: float):
        self.burst = burst
        self.rate = rate
        self.level = 0.0
        self.updated: float | None = None

    def _drain(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.level = max(0.0, self.level - (now - self.updated) * self.rate)
        self.updated = now if self.updated is None else max(self.updated, now)

    def take(self, now: float) -> bool:
        self._drain(now)
        if self.level + 1 > self.burst:
            return False
        self.level += 1
        return True


@dataclass
class Usage:
    operating: float
    reset_at: int


class OperatingBudget:
    """Sum of per-call costs per (caller, method) over the last 10 minutes. Once the sum is over the
    limit, the next call of that method by that caller is refused (HTTP 429 OPERATION_TIME_LIMIT)."""

    def __init__(self, limit: float = 480.0, cost: float | dict = 0.0):
        self.limit = limit
        self.cost = cost
        self._calls: dict[tuple[str, str], deque] = {}

    def cost_of(self, method: str) -> float:
        if isinstance(self.cost, dict):
            return float(self.cost.get(method, self.cost.get("*", 0.0)))
        return float(self.cost)

    def _window(self, key: tuple[str, str], now: float) -> deque:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0][0] <= now - OPERATING_WINDOW:
            calls.popleft()
        return calls

    def usage(self, caller: str, method: str, now: float) -> Usage:
        calls = self._window((caller, method), now)
        total = sum(c for _, c in calls)
        reset = int((calls[0][0] if calls else now) + OPERATING_WINDOW)
        return Usage(round(total, 6), reset)

    def over(self, caller: str, method: str, now: float) -> bool:
        return self.usage(caller, method, now).operating > self.limit

    def charge(self, caller: str, method: str, now: float) -> Usage:
        cost = self.cost_of(method)
        calls = self._window((caller, method), now)
        if cost:
            calls.append((now, cost))
        return self.usage(caller, method, now)
