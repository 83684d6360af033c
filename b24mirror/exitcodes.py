"""Exit codes: cron and monitors read these, so they are few, stable and documented."""
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every group synced; audit clean; check found nothing blocking
    FAILED = 1  # a group failed (the others still ran), audit found drift, or check found a blocker
    USAGE = 2  # bad command line or configuration: nothing was done
    LOCKED = 3  # another b24mirror run holds the state file's lock: nothing was done
    STATE = 4  # the state file is corrupt or from a newer version: nothing was done
    PORTAL = 5  # the portal refused the webhook (unknown secret, missing scope) or is unreachable
    INTERRUPTED = 130  # SIGINT (Ctrl-C) during a sync: what was posted is in the ledger; the next run goes on
    TERMINATED = 143  # SIGTERM (systemd stop, kill) during a sync: the same
