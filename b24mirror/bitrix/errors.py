"""One exception family for everything the portal (or the network) can answer, classified by what the caller should do."""
from __future__ import annotations

import re
from typing import Any

from b24mirror.bitrix.masking import mask_text

RETRYABLE_CODES = frozenset({"QUERY_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER"})
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
AUTH_CODES = frozenset({"NO_AUTH_FOUND", "EXPIRED_TOKEN", "INVALID_TOKEN", "AUTHORIZATION_ERROR", "ERROR_OAUTH",
                        "INVALID_GRANT", "INVALID_CLIENT", "WRONG_AUTH_TYPE"})
PERMISSION_CODES = frozenset({"ACCESS_DENIED", "ACCESS_ERROR", "INVALID_CREDENTIALS", "USER_ACCESS_ERROR",
                              "ALLOWED_ONLY_INTRANET_USER", "PAYMENT_REQUIRED", "METHOD_CONFIRM_WAITING",
                              "OVERLOAD_LIMIT", "PORTAL_DELETED", "APPLICATION_NOT_FOUND"})
SCOPE_CODES = frozenset({"INSUFFICIENT_SCOPE", "INVALID_SCOPE"})
BUDGET_CODES = frozenset({"OPERATION_TIME_LIMIT"})

# method prefix -> webhook scope, longest prefix first
METHOD_SCOPES = (("sonet_group.", "sonet_group"), ("tasks.", "task"), ("task.", "task"), ("user.", "user"),
                 ("im.", "im"), ("profile", "basic"))
_SCOPE_IN_TEXT = re.compile(r"""scopes?\b\W{0,3}(?:is\s+|are\s+)?(?:required\W{0,3})?["'`]?([a-z][a-z0-9_]*)["'`]?""", re.I)
_SCOPE_BEFORE = re.compile(r"""["'`]([a-z][a-z0-9_]*)["'`]\s+scope""", re.I)
_NOT_SCOPES = {"is", "are", "the", "required", "requires", "of", "for", "to", "not", "insufficient", "higher", "provided"}


class BitrixError(Exception):
    """Any failure talking to Bitrix24. .code is upper-case; .raw_code is what the portal sent."""

    retryable = False

    def __init__(self, code: str = "", description: str = "", *, method: str | None = None,
                 http_status: int | None = None, raw_code: str | None = None, payload: Any = None) -> None:
        self.raw_code = code if raw_code is None else raw_code
        self.code = normalise_code(code)
        self.description = mask_text(description or "")
        self.method = method
        self.http_status = http_status
        self.payload = payload
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.method}: " if self.method else ""
        status = f" (HTTP {self.http_status})" if self.http_status else ""
        code = self.code or "(no error code)"
        desc = f": {self.description}" if self.description else ""
        return mask_text(f"{where}{code}{desc}{status}")

    def __str__(self) -> str:
        return mask_text(super().__str__())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self):  # keep pickling/copying working with keyword-only arguments
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls, state):
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    Exception.__init__(obj, obj._message())
    return obj


class RetryableError(BitrixError):
    """Transient: QUERY_LIMIT_EXCEEDED, 5xx, INTERNAL_SERVER_ERROR. Raised to the caller only after the retries ran out."""

    retryable = True


class TransportError(RetryableError):
    """No usable answer: connection failure, a read timeout on a read, a body that is not JSON (an HTML page)."""


class IncompleteList(RetryableError):
    """A list could not be proven complete (its pages disagreed about the total, or rows went missing)."""


class AuthError(BitrixError):
    """The webhook or token is wrong, expired or revoked: NO_AUTH_FOUND, expired_token, invalid_token."""


class PermissionDenied(BitrixError):
    """The webhook's user may not do this: ACCESS_DENIED, ACCESS_ERROR, INVALID_CREDENTIALS."""


class ScopeError(PermissionDenied):
    """insufficient_scope: the webhook lacks a scope; .scope names the one to add."""

    def __init__(self, code: str = "insufficient_scope", description: str = "", *, scope: str | None = None, **kw: Any) -> None:
        self.scope = scope or scope_from_text(description) or scope_for_method(kw.get("method"))
        super().__init__(code, description, **kw)

    def _message(self) -> str:
        base = super()._message()
        if self.scope:
            return f"{base}; add the '{self.scope}' scope to the webhook (Developer resources -> Inbound webhook -> edit)"
        return f"{base}; add the missing scope to the webhook"


class BudgetExceeded(BitrixError):
    """OPERATION_TIME_LIMIT: the method used up its time budget; it is not called again before .reset_at (unix time)."""

    def __init__(self, code: str = "OPERATION_TIME_LIMIT", description: str = "", *, reset_at: float | None = None, **kw: Any) -> None:
        self.reset_at = reset_at
        super().__init__(code, description, **kw)

    def _message(self) -> str:
        base = super()._message()
        return f"{base}; blocked until unix time {self.reset_at:.0f}" if self.reset_at else base


class RequestError(BitrixError):
    """The portal refused this particular request: task errors "0"/"100", ERROR_CORE, validation errors, not found."""


class OutcomeUnknown(BitrixError):
    """A write was sent but its outcome is unknown (timeout, reset after sending, 5xx). It was NOT sent again:
    read back to see whether it happened before writing it again."""


class DeadlineExceeded(BitrixError):
    """The run's deadline came before the call could (re)start."""


def normalise_code(code: Any) -> str:
    return str(code if code is not None else "").strip().upper()


def scope_from_text(text: str | None) -> str | None:
    if not text:
        return None
    for pattern in (_SCOPE_BEFORE, _SCOPE_IN_TEXT):
        for match in pattern.finditer(text):
            word = match.group(1).lower()
            if word not in _NOT_SCOPES:
                return word
    return None


def scope_for_method(method: str | None) -> str | None:
    name = (method or "").lower()
    for prefix, scope in METHOD_SCOPES:
        if name.startswith(prefix):
            return scope
    return None


def parse_error_body(body: Any) -> tuple[str, str, Any] | None:
    """(raw code, description, payload) from a classic or REST 3.0 error body; None if the body holds no error."""
    if not isinstance(body, dict) or "error" not in body:
        return None
    err = body["error"]
    if isinstance(err, dict):  # REST 3.0: {"error": {"code", "message", "validation": [{"message", "field"}]}}
        parts = [str(err.get("message") or "")]
        for item in err.get("validation") or []:
            if isinstance(item, dict):
                field = f"{item.get('field')}: " if item.get("field") else ""
                parts.append(f"{field}{item.get('message', '')}")
        return str(err.get("code") or ""), "; ".join(p for p in parts if p), err
    return ("" if err is None else str(err)), str(body.get("error_description") or ""), body


def classify(raw_code: str, description: str = "", *, http_status: int | None = None, method: str | None = None,
             payload: Any = None, reset_at: float | None = None) -> BitrixError:
    """The exception for an error code (case-insensitive), falling back on the HTTP status."""
    code = normalise_code(raw_code)
    kw = dict(method=method, http_status=http_status, raw_code=raw_code, payload=payload)
    if code in SCOPE_CODES:
        return ScopeError(raw_code, description, **kw)
    if code in AUTH_CODES:
        return AuthError(raw_code, description, **kw)
    if code in PERMISSION_CODES:
        return PermissionDenied(raw_code, description, **kw)
    if code in BUDGET_CODES:
        return BudgetExceeded(raw_code, description, reset_at=reset_at, **kw)
    if code in RETRYABLE_CODES:
        return RetryableError(raw_code, description, **kw)
    if http_status is not None:
        if http_status in RETRYABLE_STATUSES:
            return RetryableError(raw_code, description, **kw)
        if http_status == 401:
            return AuthError(raw_code, description, **kw)
        if http_status == 403:
            return PermissionDenied(raw_code, description, **kw)
        if http_status == 429:
            return BudgetExceeded(raw_code, description, reset_at=reset_at, **kw)
    return RequestError(raw_code, description, **kw)
