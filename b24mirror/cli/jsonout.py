"""The one shape of every JSON document b24mirror prints: a schema version, and one error shape.

Monitors parse these; `schema` changes only when a field changes meaning or goes away.
"""
from __future__ import annotations

import json
from typing import TextIO

from b24mirror.exitcodes import ExitCode

SCHEMA = 1

ERROR_CODES = {
    ExitCode.FAILED: "failed",
    ExitCode.USAGE: "usage",
    ExitCode.LOCKED: "locked",
    ExitCode.STATE: "state",
    ExitCode.PORTAL: "portal",
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.TERMINATED: "terminated",
}

FIXES = {
    ExitCode.FAILED: "run with -v to see where it failed; nothing was posted twice, the next run resumes",
    ExitCode.USAGE: "correct the configuration or the command line as the message says",
    ExitCode.LOCKED: "nothing to do: the next scheduled run catches up; if every run says this, a run is stuck",
    ExitCode.STATE: "run `b24mirror sync --rebuild-state` to rebuild the state from the master tasks' markers",
    ExitCode.PORTAL: "run `b24mirror check`: it names what the portal refused or why it cannot be reached",
    ExitCode.INTERRUPTED: "nothing: the next run goes on from the ledger",
    ExitCode.TERMINATED: "nothing: the next run goes on from the ledger",
}


def document(payload: dict) -> dict:
    return {"schema": SCHEMA, **payload}


def error_document(code: ExitCode, message: str, fix: str | None = None) -> dict:
    return document({"error": {"code": ERROR_CODES.get(code, "failed"), "exit": int(code), "message": message,
                               "fix": fix or FIXES.get(code, FIXES[ExitCode.FAILED])}})


def write(out: TextIO, payload: dict) -> None:
    out.write(json.dumps(document(payload), ensure_ascii=False, indent=2) + "\n")
