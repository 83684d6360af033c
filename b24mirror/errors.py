"""Map the failures every command can meet to one message and an exit code."""
from __future__ import annotations

from b24mirror.policy.words import plural
from b24mirror import bitrix
from b24mirror.config.load import ConfigError
from b24mirror.exitcodes import ExitCode
from b24mirror.state import StateCorrupt, StateLocked, StateTooNew


class UsageProblem(Exception):
    """The command line asks for something the configuration cannot give (an unknown group)."""


class PortalUnreachable(Exception):
    """Not one request of a run got an HTTP answer."""

    def __init__(self, where: str, requests: int, webhook_key: str = "portal.webhook") -> None:
        super().__init__(f"the portal did not answer at {where} ({plural(requests, 'request')} sent, none answered); "
                         f"check the address in {webhook_key}, DNS and the network or proxy to the portal, then "
                         "run `b24mirror check`. Nothing was posted; the next run goes on")


def to_exit(exc: BaseException, webhook_key: str = "portal.webhook") -> tuple[str, ExitCode] | None:
    """(message, exit code) for a known failure; None for a bug, which should show its traceback.

    `webhook_key`: where the URL was set (a config key or B24MIRROR_WEBHOOK), named in the fix."""
    if isinstance(exc, (ConfigError, UsageProblem)):
        return str(exc), ExitCode.USAGE
    if isinstance(exc, StateLocked):
        return str(exc), ExitCode.LOCKED
    if isinstance(exc, (StateCorrupt, StateTooNew)):
        return str(exc), ExitCode.STATE
    if isinstance(exc, bitrix.AuthError):
        return (f"the portal refused the webhook ({exc}); check {webhook_key} — the secret may have been "
                f"regenerated or the webhook deleted"), ExitCode.PORTAL
    if isinstance(exc, bitrix.ScopeError):
        return (f"the webhook lacks the `{exc.scope}` scope ({exc}); add it under Developer resources → "
                f"Inbound webhook, then run `b24mirror check`"), ExitCode.PORTAL
    if isinstance(exc, PortalUnreachable):
        return str(exc), ExitCode.PORTAL
    if isinstance(exc, bitrix.TransportError):  # the code only: the raw text is connection-pool internals
        return (f"the portal could not be reached ({exc.code}); check the address in {webhook_key} and the "
                "network, then run `b24mirror check`; it will be tried again next run"), ExitCode.PORTAL
    if isinstance(exc, bitrix.BitrixError):
        return f"the portal answered with an error: {exc}", ExitCode.FAILED
    return None
