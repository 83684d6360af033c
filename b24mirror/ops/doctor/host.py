"""The checks of `b24mirror check` that need no portal: can this host keep the state, is the state file
whole, and does a run fit the cron period.

The state folder is tried the way a sync uses it: a file created, locked, written, fsynced and renamed,
then removed, so nothing is left behind and the real state and its lock are never touched.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from b24mirror.exitcodes import ExitCode
from b24mirror.ops.doctor import BLOCKER, OK, Finding, blocks_sync
from b24mirror.config.settings import Config
from b24mirror.state import REBUILD_HINT, StateCorrupt, StateError, StateTooNew, verify

CRON_PERIOD = 300.0  # the five minutes the README's cron line and systemd timer use
FINISH_MARGIN = 30.0  # after the deadline a run still writes its state and exits


def local_checks(config: Config) -> list[Finding]:
    return [state_folder_finding(Path(config.state_file)), state_file_finding(Path(config.state_file)),
            deadline_finding(config.limits.run_deadline)]


STATE_FILE = "state file"


def state_file_finding(state_file: Path) -> Finding:
    """Every page of the state read once (SQLite's own check): a torn page a run has not met yet shows here."""
    subject = f"{STATE_FILE} {state_file}"
    try:
        present = state_file.exists()
    except OSError as exc:  # its folder cannot be searched: the state folder's finding says why
        return Finding(BLOCKER, subject, f"cannot be looked at ({exc.strerror or exc})",
                       "make its folder readable by the user running b24mirror")
    if not present:
        return Finding(OK, subject, "not there yet: the first sync creates it")
    try:
        verdict = verify(state_file)
    except StateTooNew as exc:
        return Finding(BLOCKER, subject, str(exc).split(". ")[0], "upgrade b24mirror; do not rebuild or delete the file")
    except StateCorrupt as exc:
        return Finding(BLOCKER, subject, str(exc).split(". To fix it")[0], REBUILD_HINT)
    except StateError as exc:
        return Finding(BLOCKER, subject, str(exc), "run b24mirror as the user that owns the state file")
    if verdict != "ok":
        return Finding(BLOCKER, subject, f"is corrupt: SQLite's check of its pages found: {verdict[:300]}",
                       REBUILD_HINT)
    return Finding(OK, subject, "whole: every page of it reads")


def exit_code(findings: list[Finding]) -> ExitCode:
    """4 when the state file is what stands in the way (as for every command that meets it), 1 for any
    other blocker."""
    if any(f.level == BLOCKER and f.subject.startswith(f"{STATE_FILE} ") for f in findings):
        return ExitCode.STATE
    return ExitCode.FAILED if blocks_sync(findings) else ExitCode.OK


def state_folder_finding(state_file: Path) -> Finding:
    folder = state_file.parent
    subject = f"state folder {folder}"
    if not folder.is_dir():
        return Finding(BLOCKER, subject, "does not exist",
                       f"create it for the user running b24mirror: mkdir -p {folder} (or, under systemd, "
                       "StateDirectory=b24mirror and state_file: /var/lib/b24mirror/state.json)")
    probe = folder / f".b24mirror-check.{os.getpid()}.{os.urandom(4).hex()}"
    moved = probe.with_name(probe.name + ".renamed")
    step = "create a file"
    try:
        fd = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            step = "lock a file"
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            step = "write and fsync a file"
            os.write(fd, b"b24mirror check\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        step = "rename a file"
        os.replace(probe, moved)
        step = "remove a file"
        os.unlink(moved)
    except OSError as exc:
        for leftover in (probe, moved):
            try:
                os.unlink(leftover)
            except OSError:
                pass
        return Finding(BLOCKER, subject, f"cannot {step} there ({exc.strerror or exc}): the state file and its "
                       "lock could not be written",
                       f"make {folder} writable by the user running b24mirror (chown that user {folder}), "
                       "or point state_file at a folder it owns")
    return Finding(OK, subject, "writable: a file can be created, locked, fsynced, renamed and removed there")


def deadline_finding(run_deadline: float) -> Finding:
    subject = "portal.run_deadline"
    longest = CRON_PERIOD - FINISH_MARGIN
    if run_deadline > longest:
        return Finding(BLOCKER, subject, f"{run_deadline:g}s does not fit a five-minute cron period: a run may still "
                       "hold the lock when the next one starts, and that one does nothing (exit 3)",
                       f"set portal.run_deadline to {longest:g} or less (the default is 240), or run b24mirror "
                       "less often")
    return Finding(OK, subject, f"{run_deadline:g}s fits a five-minute cron period")
