"""Deterministic fault injection: which HTTP request fails, and how.

kinds:
  "503"           503 QUERY_LIMIT_EXCEEDED, call not run
  "500"           500 INTERNAL_SERVER_ERROR, call not run
  "html"          502 with a text/html error page, call not run
  "slow"          the call runs, the answer comes `seconds` (real) seconds later
  "reset"         the connection is reset before the call runs: nothing applied, no answer
  "lost_response" the call runs (a write is applied), then the connection closes without an answer
  "hold"          the call runs, the answer waits until `release()`; the fault's `reached` is set when a
                  request is held, so a test can act (send a signal, let a deadline pass) while the client
                  waits for an answer, without guessing at timing

and, per command rather than per HTTP request, `refuse()`: every command of a method whose
parameters mention a text is answered with an error and not run (in a batch: that command's
`result_error`) — a write the portal will never take, however often it is sent.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from b24mirror.fakeportal.errors import RestError

KINDS = ("503", "500", "html", "slow", "reset", "lost_response", "hold")


@dataclass
class Fault:
    kind: str
    method: str = "*"
    rate: float | None = None
    count: int | None = None
    seconds: float = 5.0
    contains: str | None = None  # only requests whose parameters mention this (a method inside a batch)
    reached: threading.Event = field(default_factory=threading.Event)  # "hold": a request is being held
    released: threading.Event = field(default_factory=threading.Event)  # "hold": answer the held requests

    def matches(self, method: str, params: object = None) -> bool:
        if self.method != "*" and self.method.lower() != method.lower():
            return False
        return self.contains is None or self.contains in repr(params)


class Faults:
    def __init__(self, seed: int | None = 0):
        self._rng = random.Random(seed)
        self.rules: list[Fault] = []
        self.refusals: list[tuple[str, str, str, str]] = []
        self.refused = 0

    def add(self, kind: str, method: str = "*", rate: float | None = None, count: int | None = None,
            seconds: float = 5.0, contains: str | None = None) -> Fault:
        """rate: probability per matching request (seeded, so a run repeats); count: the next N matching
        requests fail. With neither, every matching request fails. contains: match only requests whose
        parameters mention this text, e.g. the batch that carries a task.commentitem.add."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        rule = Fault(kind, method, rate, count, seconds, contains)
        self.rules.append(rule)
        return rule

    def refuse(self, method: str, contains: str, code: str = "ERROR_CORE",
               message: str = "The portal refused this command") -> None:
        self.refusals.append((method.lower(), contains, code, message))

    def refusal(self, method: str, params: object) -> None:
        """Raise the refusal that matches this command, if any (see refuse)."""
        for name, contains, code, message in self.refusals:
            if name == method.lower() and contains in repr(params):
                self.refused += 1
                raise RestError(code, message, 400)

    def release(self) -> None:
        """Let every request a "hold" fault keeps waiting be answered (and later ones pass unheld)."""
        for rule in self.rules:
            rule.released.set()

    def clear(self) -> None:
        self.rules.clear()
        self.refusals.clear()

    def pick(self, method: str, params: object = None) -> Fault | None:
        """The fault for one HTTP request (the outer method: 'batch' for a batch call), or None."""
        for rule in self.rules:
            if not rule.matches(method, params):
                continue
            if rule.count is not None:
                if rule.count <= 0:
                    continue
                rule.count -= 1
                return rule
            if rule.rate is None or self._rng.random() < rule.rate:
                return rule
        return None
