"""What `check` reports: findings with a level and a fix, and how they are shown."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from b24mirror.policy.words import task_list
from b24mirror.bitrix import mask_text

OK, WARNING, BLOCKER = "ok", "warning", "blocker"
LEVELS = (OK, WARNING, BLOCKER)

# The scopes a sync needs, in the order they are reported.
SCOPES = ("task", "sonet_group", "user", "im")
SCOPE_OF_METHOD = {"tasks.task.get": "task", "sonet_group.get": "sonet_group", "sonet_group.user.get": "sonet_group",
                   "user.current": "user", "im.chat.get": "im"}
WEBHOOK_EDIT = "Developer resources → Other → Inbound webhook → edit"
LISTED_TASKS = 10


@dataclass(frozen=True)
class Finding:
    level: str  # "ok" | "warning" | "blocker"
    subject: str  # "webhook", "scope task", "group 42", "master task 1001", "group 42 subtask chats", ...
    message: str  # what was found
    fix: str = ""  # how to fix it (empty for ok)


def blocks_sync(findings: Iterable[Finding]) -> bool:
    return any(f.level == BLOCKER for f in findings)


def render_findings(findings: Iterable[Finding]) -> str:
    """One line per finding, its fix indented below it, and a last line counting blockers and warnings."""
    findings = list(findings)
    tags = {OK: "ok", WARNING: "WARNING", BLOCKER: "BLOCKER"}
    width = max(len(t) for t in tags.values()) + 2
    lines = []
    for f in findings:
        tag = f"[{tags.get(f.level, f.level)}]".ljust(width + 1)
        lines.append(mask_text(f"{tag}{f.subject}: {f.message}"))
        if f.fix:
            lines.append(mask_text(f"{' ' * (width + 1)}fix: {f.fix}"))
    blockers = sum(f.level == BLOCKER for f in findings)
    warnings = sum(f.level == WARNING for f in findings)
    lines.append(f"{blockers} blocker{'' if blockers == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'}")
    return "\n".join(lines)


# --- shared by the checks ---------------------------------------------------------------------------------------------------

def _describe(error: BaseException) -> str:
    return mask_text(str(error) or type(error).__name__)


def _first_row(result: Any) -> dict | None:
    rows = list(result.values()) if isinstance(result, dict) else list(result or [])
    return rows[0] if rows and isinstance(rows[0], dict) else None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in ("Y", "TRUE", "1")
    return bool(value)


def _task_list(ids: list[int]) -> str:
    return task_list(ids, LISTED_TASKS)


