"""BitrixClient: the one object the rest of b24mirror uses to talk to the portal."""
from __future__ import annotations

import logging
import random
import re
import threading
import time
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

import b24mirror
from b24mirror.bitrix.batch import BatchItem, run_batch
from b24mirror.bitrix.errors import AuthError, TransportError, parse_error_body
from b24mirror.bitrix.masking import mask_text, mask_url, remember_secret
from b24mirror.bitrix.methods import is_write
from b24mirror.bitrix.oauth import OAuthCredentials
from b24mirror.bitrix.paging import list_all, list_keyset
from b24mirror.bitrix.pacing import DEFAULT_OPERATING_BUDGET, STANDARD, Pacer, RateLimit
from b24mirror.bitrix.retry import RetryPolicy
from b24mirror.bitrix.transport import ClientStats, Response, Transport, make_session

log = logging.getLogger("b24mirror.bitrix")

WEBHOOK_RE = re.compile(r"^(?P<prefix>.*?/rest/)(?P<user>\d+)/(?P<secret>[^/]+)/?$")
USER_AGENT = f"b24mirror/{b24mirror.__version__} (+python-requests/{requests.__version__})"


class BitrixClient:
    def __init__(self, webhook: str | None = None, *, oauth: OAuthCredentials | None = None,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0, rate: RateLimit | None = STANDARD,
                 deadline_seconds: float | None = None, max_attempts: int = 6,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, pacer: Pacer | None = None, wall: Callable[[], float] = time.time,
                 operating_budget: float = DEFAULT_OPERATING_BUDGET, session: requests.Session | None = None,
                 user_agent: str = USER_AGENT) -> None:
        if (webhook is None) == (oauth is None):
            raise ValueError("give exactly one of webhook= or oauth=")
        self.oauth = oauth
        self.user_id: int | None = None
        if webhook is not None:
            parts = urlsplit(webhook.strip())
            match = WEBHOOK_RE.match(parts.path)
            if not parts.scheme or not parts.netloc or not match:
                raise ValueError(f"not a webhook URL (https://PORTAL/rest/USER_ID/SECRET/): {mask_url(webhook)}")
            remember_secret(match.group("secret"))
            self.user_id = int(match.group("user"))
            self.portal_url = f"{parts.scheme}://{parts.netloc}"
            self._base = f"{self.portal_url}{match.group('prefix')}{self.user_id}/{match.group('secret')}/"
        else:
            self.portal_url = oauth.portal_url.rstrip("/")
            self._base = None
        self.clock, self.sleep = clock, sleep
        self.rng = rng if rng is not None else random.Random()
        self.max_attempts = max_attempts
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.stats = ClientStats()
        self.pacer = pacer if pacer is not None else Pacer(rate, clock=clock, sleep=sleep, wall=wall,
                                                           operating_budget=operating_budget)
        self.deadline = None if deadline_seconds is None else clock() + deadline_seconds
        self.session = session if session is not None else make_session(user_agent)
        self._refresh_lock = threading.Lock()
        self._transport = Transport(url_for=self._url_for, auth_params=self._auth_params, session=self.session,
                                    connect_timeout=connect_timeout, read_timeout=read_timeout, pacer=self.pacer,
                                    stats=self.stats, deadline=self.deadline, clock=clock)
        self._retry = RetryPolicy(max_attempts=max_attempts, clock=clock, sleep=sleep, rng=self.rng,
                                  deadline=lambda: self.deadline, on_retry=self._count_retry)
        # Told after each request of a batch of reads: (requests done, requests in all). A long read is one
        # batched call, so this is the only place that knows how far it has come; the face shows it.
        self.read_progress: Callable[[int, int], None] | None = None

    # ---- plumbing ---------------------------------------------------------------------------------------------
    def _url_for(self, method: str) -> str:
        if self._base is not None:
            return self._base + method
        return self.oauth.rest_url(method)

    def _auth_params(self) -> dict[str, str]:
        return {"auth": self.oauth.access_token} if self.oauth is not None else {}

    def _count_retry(self, delay: float) -> None:
        self.stats.retries += 1
        self.stats.waited_seconds += delay

    def __repr__(self) -> str:
        where = mask_url(self._base) if self._base else f"{self.portal_url} (OAuth)"
        return f"BitrixClient({where})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "BitrixClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- single calls -----------------------------------------------------------------------------------------
    def call(self, method: str, params: dict | None = None, *, write: bool | None = None) -> Response:
        """Call one method. Reads are retried with backoff; a write only when it provably did not run.
        Raises a BitrixError subclass; OutcomeUnknown when a write may or may not have happened."""
        if write is None:
            write = _batch_writes(params) if method.lower() == "batch" else is_write(method)
        token = self.oauth.access_token if self.oauth is not None else None
        attempt = lambda: self._transport.send(method, params, write=write)  # noqa: E731
        try:
            return self._retry.run(attempt, what=method)
        except AuthError as exc:
            if self.oauth is None or exc.code != "EXPIRED_TOKEN":
                raise
            self._refresh(token)
        return self._retry.run(attempt, what=method)  # once, with the new token

    def _refresh(self, stale_token: str | None) -> None:
        with self._refresh_lock:
            oauth = self.oauth
            if oauth.access_token != stale_token:
                return  # another thread refreshed already
            self._transport.check_deadline("oauth.refresh")
            log.info("access token expired: refreshing it")
            self.stats.refreshes += 1
            try:
                reply = self.session.get(oauth.oauth_url, params=oauth.refresh_params(),
                                         timeout=(self.connect_timeout, self.read_timeout), allow_redirects=False)
            except requests.exceptions.RequestException as exc:
                raise TransportError("OAUTH_REFRESH_FAILED", mask_text(f"{type(exc).__name__}: {exc}"),
                                     method="oauth.refresh") from None
            try:
                body = reply.json()
            except ValueError:
                raise TransportError("NOT_JSON", "the OAuth server did not answer JSON", method="oauth.refresh",
                                     http_status=reply.status_code) from None
            parsed = parse_error_body(body)
            if parsed is not None or not isinstance(body, dict) or "access_token" not in body:
                code, description, _ = parsed or ("OAUTH_REFRESH_FAILED", "no access_token in the reply", body)
                if reply.status_code >= 500:
                    raise TransportError(code, description, method="oauth.refresh", http_status=reply.status_code)
                raise AuthError(code, description, method="oauth.refresh", http_status=reply.status_code)
            oauth.update(body)

    # ---- batches and lists ------------------------------------------------------------------------------------
    def batch(self, commands: dict[str, tuple[str, dict]] | list[tuple[str, dict]], *,
              halt: bool = False) -> dict[str, BatchItem]:
        """Any number of commands, 50 per request; every key comes back with a result or an error."""
        return run_batch(self, commands, halt=halt)

    def list_all(self, method: str, params: dict | None = None, *, items_key: str | None = None,
                 id_key: str = "ID") -> list:
        return list_all(self, method, params, items_key=items_key, id_key=id_key)

    def list_keyset(self, method: str, params: dict | None = None, *, items_key: str | None = None,
                    id_key: str = "ID", filter_key: str = "filter", id_filter: str = ">ID",
                    order_key: str | None = "order", page_size: int = 50) -> list:
        return list_keyset(self, method, params, items_key=items_key, id_key=id_key, filter_key=filter_key,
                           id_filter=id_filter, order_key=order_key, page_size=page_size)


def _batch_writes(params: dict | None) -> bool:
    cmd = (params or {}).get("cmd") or {}
    values = cmd.values() if isinstance(cmd, dict) else cmd
    return any(is_write(str(v).split("?", 1)[0]) for v in values)
