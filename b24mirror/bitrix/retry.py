"""The retry loop (tenacity): exponential backoff with jitter, a cap on attempts, and the run's deadline."""
from __future__ import annotations

import inspect
import logging
import random
from typing import Callable, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity.wait import wait_base

from b24mirror.bitrix.errors import BitrixError, DeadlineExceeded, RetryableError
from b24mirror.bitrix.masking import mask_text

log = logging.getLogger("b24mirror.bitrix")
T = TypeVar("T")

INITIAL_WAIT = 0.5
MAX_WAIT = 30.0
JITTER = 1.0


class wait_rng_jitter(wait_base):
    """Uniform jitter in [0, jitter) from an injectable random.Random (tenacity's own uses the global one)."""

    def __init__(self, rng: random.Random, jitter: float) -> None:
        self.rng, self.jitter = rng, jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.rng.uniform(0, self.jitter)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableError)


class RetryPolicy:
    def __init__(self, *, max_attempts: int, clock: Callable[[], float], sleep: Callable[[float], None],
                 rng: random.Random, deadline: Callable[[], float | None], on_retry: Callable[[float], None],
                 initial: float = INITIAL_WAIT, maximum: float = MAX_WAIT, jitter: float = JITTER) -> None:
        self.max_attempts = max(1, max_attempts)
        self.clock, self._sleep, self.rng = clock, sleep, rng
        self.deadline, self.on_retry = deadline, on_retry
        self.initial, self.maximum, self.jitter = initial, maximum, jitter

    def wait_strategy(self) -> wait_base:
        # tenacity >= 9.1 names the first wait "multiplier" (and warns on "initial"); older versions only know "initial"
        first = "multiplier" if "multiplier" in inspect.signature(wait_exponential_jitter).parameters else "initial"
        base = wait_exponential_jitter(max=self.maximum, jitter=0, **{first: self.initial})
        return base + wait_rng_jitter(self.rng, self.jitter)

    def run(self, fn: Callable[[], T], *, what: str = "") -> T:
        last: list[BaseException] = []

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if exc is not None:
                last[:] = [exc]
            delay = state.next_action.sleep if state.next_action else 0.0
            log.debug("retrying %s in %.1fs after attempt %d: %s", what, delay, state.attempt_number,
                     mask_text(str(exc)))
            self.on_retry(delay)

        def sleep(seconds: float) -> None:
            deadline = self.deadline()
            if deadline is not None and self.clock() + seconds > deadline:
                cause = last[0] if last else None
                err = DeadlineExceeded("DEADLINE", f"no time left for another attempt at {what} before the run "
                                       f"deadline; last error: {mask_text(str(cause))}", method=what or None)
                raise err from cause if isinstance(cause, BitrixError) else None
            self._sleep(seconds)

        retrying = Retrying(stop=stop_after_attempt(self.max_attempts), wait=self.wait_strategy(),
                            retry=retry_if_exception(is_retryable), sleep=sleep, before_sleep=before_sleep,
                            reraise=True)
        try:
            return retrying(fn)
        except DeadlineExceeded as exc:
            cause = last[0] if last else None
            if exc.__cause__ is None and isinstance(cause, BitrixError):
                # Attempts failed until the deadline came: the failure is what the portal answered, not the time.
                raise DeadlineExceeded(exc.code, f"{exc.description}; last error: {mask_text(str(cause))}",
                                       method=what or None) from cause
            raise
