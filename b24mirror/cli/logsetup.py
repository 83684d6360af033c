"""Logging to stderr, with every known secret masked out of every record."""
from __future__ import annotations

import logging
import sys

from b24mirror.bitrix.masking import known_secrets

_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Mask this string wherever it would appear in a log line."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def mask(text: str) -> str:
    for secret in _SECRETS.union(known_secrets()):
        text = text.replace(secret, "***")
    return text


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(verbosity: int) -> None:
    """verbosity: -1 quiet (warnings only), 0 normal, 1 verbose (debug)."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretFilter())
    handler.setFormatter(logging.Formatter("%(message)s" if verbosity < 1 else "%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger("b24mirror")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # requests/urllib3 log full URLs at debug level: the secret lives in the path.
    for noisy in ("urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
        logging.getLogger(noisy).addFilter(SecretFilter())
