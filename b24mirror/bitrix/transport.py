"""One HTTP attempt: pace, send, and turn whatever comes back into a Response or a classified exception.

Writes get the conservative reading: anything that may have reached the portal without a clear answer is
OutcomeUnknown, never a retryable error."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from b24mirror.bitrix.errors import (BitrixError, BudgetExceeded, DeadlineExceeded, OutcomeUnknown, RetryableError,
                                     TransportError, classify, parse_error_body)
from b24mirror.bitrix.masking import mask_text
from b24mirror.bitrix.pacing import Pacer

log = logging.getLogger("b24mirror.bitrix")

MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass
class Response:
    result: Any
    total: int | None = None
    next: int | None = None
    time: dict = field(default_factory=dict)


@dataclass
class ClientStats:
    requests: int = 0
    answered: int = 0  # requests that got any HTTP answer: 0 of many means the portal is unreachable
    batch_commands: int = 0
    retries: int = 0
    refused_503: int = 0
    waited_seconds: float = 0.0
    refreshes: int = 0


def make_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    # urllib3 must never resend on its own: a resent POST is a duplicated comment.
    adapter = HTTPAdapter(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, other=0,
                                            raise_on_redirect=False, raise_on_status=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
    return session


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _not_sent(exc: BaseException) -> bool:
    """True when the failure provably happened before a byte of the request left: refused, unresolvable, connect timeout."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        if isinstance(item, BaseException):
            stack.extend(a for a in item.args if isinstance(a, BaseException))
            stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return False


class Transport:
    """Sends single requests. Retries, OAuth refresh and batching live above it."""

    def __init__(self, *, url_for: Callable[[str], str], auth_params: Callable[[], dict[str, str]],
                 session: requests.Session, connect_timeout: float, read_timeout: float, pacer: Pacer,
                 stats: ClientStats, deadline: float | None, clock: Callable[[], float]) -> None:
        self.url_for, self.auth_params = url_for, auth_params
        self.session = session
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.pacer, self.stats = pacer, stats
        self.deadline, self.clock = deadline, clock

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.clock()

    def check_deadline(self, method: str) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise DeadlineExceeded("DEADLINE", "the run deadline has passed", method=method)

    def send(self, method: str, params: dict | None, *, write: bool) -> Response:
        self.check_deadline(method)
        waited = self.pacer.acquire(method, deadline=self.deadline)
        self.stats.waited_seconds += waited
        self.check_deadline(method)
        left = self.remaining()
        read_timeout = self.read_timeout if left is None else max(0.001, min(self.read_timeout, left))
        url = self.url_for(method)
        body = json.dumps(params or {}, ensure_ascii=False, default=str).encode("utf-8")
        for _ in range(MAX_REDIRECTS + 1):
            reply = self._post(url, body, method, write, read_timeout, deadline_bound=left is not None and left < self.read_timeout)
            location = reply.headers.get("Location")
            if reply.status_code in REDIRECT_STATUSES and location:
                # The portal moved: the old address did not run the request, so re-POST to the new one.
                url = urljoin(url, location)
                log.warning("portal moved: re-sending %s to %s", method, mask_text(url))
                continue
            return self._parse(reply, method, write)
        raise TransportError("TOO_MANY_REDIRECTS", f"more than {MAX_REDIRECTS} redirects", method=method)

    def _post(self, url: str, body: bytes, method: str, write: bool, read_timeout: float,
              deadline_bound: bool) -> requests.Response:
        self.stats.requests += 1
        started = self.clock()
        try:
            reply = self.session.post(url, params=self.auth_params() or None, data=body,
                                      headers={"Content-Type": "application/json"},
                                      timeout=(self.connect_timeout, read_timeout), allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            log.debug("request %d: %s (%d bytes) failed after %.2fs: %s", self.stats.requests, method, len(body),
                      self.clock() - started, type(exc).__name__)
            raise self._network_error(exc, method, write, deadline_bound) from None
        self.stats.answered += 1
        log.debug("request %d: %s (%d bytes) -> HTTP %d in %.2fs", self.stats.requests, method, len(body),
                  reply.status_code, self.clock() - started)
        return reply

    def _network_error(self, exc: requests.exceptions.RequestException, method: str, write: bool,
                       deadline_bound: bool) -> BitrixError:
        detail = mask_text(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _not_sent(exc):
            return TransportError("CONNECTION_FAILED", f"request not sent: {detail}", method=method)
        if write:
            return OutcomeUnknown("OUTCOME_UNKNOWN", f"no answer to a write, it may or may not have run ({detail}); "
                                  "read back before writing again", method=method)
        if deadline_bound and isinstance(exc, requests.exceptions.ReadTimeout):
            return DeadlineExceeded("DEADLINE", f"the run deadline passed while waiting for the answer ({detail})", method=method)
        if isinstance(exc, requests.exceptions.Timeout):
            return TransportError("READ_TIMEOUT", detail, method=method)
        return TransportError("CONNECTION_ERROR", detail, method=method)

    def _parse(self, reply: requests.Response, method: str, write: bool) -> Response:
        status = reply.status_code
        try:
            body = reply.json()
        except ValueError:
            snippet = mask_text(" ".join(reply.text[:200].split()))
            kind = reply.headers.get("Content-Type", "?").split(";")[0]
            if write:
                raise OutcomeUnknown("OUTCOME_UNKNOWN", f"a write got a non-JSON answer ({kind}: {snippet!r}); it may "
                                     "or may not have run: read back before writing again", method=method,
                                     http_status=status) from None
            raise TransportError("NOT_JSON", f"the portal answered {kind}, not JSON: {snippet!r}", method=method,
                                 http_status=status) from None
        parsed = parse_error_body(body)
        if parsed is not None:
            raw_code, description, payload = parsed
            time_info = body.get("time") if isinstance(body.get("time"), dict) else {}
            error = classify(raw_code, description, http_status=status, method=method, payload=payload,
                             reset_at=time_info.get("operating_reset_at"))
            if error.code == "QUERY_LIMIT_EXCEEDED":
                self.stats.refused_503 += 1
                self.pacer.refused()
                raise error  # provably not run: retryable for reads and writes alike
            if isinstance(error, BudgetExceeded):
                error.reset_at = self.pacer.block(method, error.reset_at, time_info.get("finish"))
                raise error
            if write and isinstance(error, RetryableError):
                raise OutcomeUnknown("OUTCOME_UNKNOWN", f"a write failed on the portal's side ({error.code or status}: "
                                     f"{error.description}); it may or may not have run: read back before writing "
                                     "again", method=method, http_status=status, payload=payload)
            raise error
        if not isinstance(body, dict) or (status >= 300 and "result" not in body):
            text = mask_text(" ".join(str(body)[:200].split()))
            if write:
                raise OutcomeUnknown("OUTCOME_UNKNOWN", f"unexpected answer to a write (HTTP {status}: {text!r}); "
                                     "read back before writing again", method=method, http_status=status)
            if status >= 500:
                raise RetryableError(f"HTTP_{status}", text, method=method, http_status=status)
            raise TransportError("BAD_ENVELOPE", f"unexpected answer: {text!r}", method=method, http_status=status)
        self.pacer.accepted()
        time_info = body.get("time") if isinstance(body.get("time"), dict) else {}
        self.pacer.observe(method, time_info)
        return Response(result=body.get("result"), total=_int_or_none(body.get("total")),
                        next=_int_or_none(body.get("next")), time=time_info)
