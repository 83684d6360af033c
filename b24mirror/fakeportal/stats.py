"""What tests and benchmarks read back: counters and a log of the calls that ran."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class LogEntry(NamedTuple):
    method: str
    params: Any
    user_id: int | None
    in_batch: bool
    error: str | None  # the error code the call answered with, or None


@dataclass
class Stats:
    requests: int = 0  # HTTP requests received (all paths)
    commands: Counter = field(default_factory=Counter)  # calls that reached a method, batch sub-commands included
    rejected_503: int = 0  # 503 QUERY_LIMIT_EXCEEDED sent because of the leaky bucket
    rejected_429: int = 0  # OPERATION_TIME_LIMIT answers
    faults_injected: int = 0
    faults_by_kind: Counter = field(default_factory=Counter)
