"""Deterministic fault injection: which HTTP request fails, and how.

kinds:
  "503"           503 QUERY_LIMIT_EXCEEDED, call not run
  "500"           500 INTERNAL_SERVER_ERROR, call not run
  "html"          502 with a text/html error page, call not run
  "slow"          the call runs, the answer comes `seconds` (real) seconds later
  "reset"         the connection is reset before the call runs: nothing applied, no answer
  "lost_response" the call runs (a write is applied), then the connection closes without an answer
"""
from __future__ import annotations

import random
from dataclasses import dataclass

KINDS = ("503", "500", "html", "slow", "reset", "lost_response")


@dataclass
class Fault:
    kind: str
    method: str = "*"
    rate: float | None = None
    count: int | None = None
    seconds: float = 5.0

    def matches(self, method: str) -> bool:
        return self.method == "*" or self.method.lower() == method.lower()


class Faults:
    def __init__(self, seed: int | None = 0):
        self._rng = random.Random(seed)
        self.rules: list[Fault] = []

    def add(self, kind: str, method: str = "*", rate: float | None = None, count: int | None = None,
            seconds: float = 5.0) -> Fault:
        """rate: probability per matching request (seeded, so a run repeats); count: the next N matching
        requests fail. With neither, every matching request fails."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        rule = Fault(kind, method, rate, count, seconds)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, method: str) -> Fault | None:
        """The fault for one HTTP request (the outer method: 'batch' for a batch call), or None."""
        for rule in self.rules:
            if not rule.matches(method):
                continue
            if rule.count is not None:
                if rule.count <= 0:
                    continue
                rule.count -= 1
                return rule
            if rule.rate is None or self._rng.random() < rule.rate:
                return rule
        return None
