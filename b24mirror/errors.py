"""Map the failures every command can meet to one message and an exit code."""
from __future__ import annotations

from b24mirror.config import ConfigError
from b24mirror.exitcodes import ExitCode


def to_exit(exc: BaseException) -> tuple[str, ExitCode] | None:
    """(message, exit code) for a known failure; None for a bug, which should show its traceback."""
    if isinstance(exc, ConfigError):
        return str(exc), ExitCode.USAGE
    return None
