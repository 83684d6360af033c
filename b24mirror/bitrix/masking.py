"""Keep the webhook secret and OAuth tokens out of every string this package produces."""
from __future__ import annotations

import re
import threading

# /rest/{user_id}/{secret}/ and the REST 3.0 form /rest/api/{user_id}/{secret}/
_WEBHOOK_PATH = re.compile(r"(/rest/(?:api/)?\d+/)([^/?#\s'\"]+)")
# auth=TOKEN in a query string or form body; "auth": "TOKEN" and the OAuth token fields in JSON
_QUERY_SECRET = re.compile(r"((?:^|[?&\s;,])(?:auth|access_token|refresh_token|client_secret)=)([^&\s'\"#]+)", re.I)
_JSON_SECRET = re.compile(r"""(['"](?:auth|access_token|refresh_token|client_secret)['"]\s*:\s*['"])([^'"]+)""", re.I)

_known: set[str] = set()
_lock = threading.Lock()


def remember_secret(secret: str | None) -> None:
    """Mask this exact string wherever this package formats text (exceptions, reprs, logs)."""
    if secret and len(secret) >= 4:
        with _lock:
            _known.add(secret)


def known_secrets() -> tuple[str, ...]:
    """Every secret remembered so far: the command line's log filter masks them too."""
    with _lock:
        return tuple(_known)


def mask_url(url: str) -> str:
    """https://x/rest/1/SECRET/ -> https://x/rest/1/***/ (query-string tokens masked too)."""
    return mask_text(url)


def mask_text(text: str) -> str:
    if not isinstance(text, str):
        text = str(text)
    text = _WEBHOOK_PATH.sub(r"\1***", text)
    text = _QUERY_SECRET.sub(r"\1***", text)
    text = _JSON_SECRET.sub(r"\1***", text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "***")
    return text
