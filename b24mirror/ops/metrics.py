"""A Prometheus textfile (node_exporter's textfile collector) describing the last sync run.

Written whole or not at all (temp file and rename), mode 0644 so node_exporter's user can read it.
Per group (and per target, with a `target` label, when a group entry lists `targets:`): when it last synced fine, what this run posted and held back; per run: HTTP requests,
503 refusals, duration and exit code.
"""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from b24mirror.atomicfile import write_atomic

PREFIX = "b24mirror_"

GROUP_SERIES = (
    ("last_success_timestamp_seconds", "Unix time of the group's last successful sync."),
    ("group_ok", "1 when the group synced fine in the last run, 0 when it failed."),
    ("mirrors_posted", "Mirrors posted to the target task (the master unless targets: says) in the last run."),
    ("held_back", "Mirrors held back by max_posts in the last run; the next run posts them."),
    ("quarantined", "Mirrors the portal refused 3 times, left out until `b24mirror repair`."),
    ("out_of_time", "1 when the last run reached run_deadline and left work for the next run."),
    ("repaired", "Mirrors repaired by the last run (sync never repairs: 0; see `b24mirror repair`)."),
)
RUN_SERIES = (
    ("run_timestamp_seconds", "Unix time the last run ended."),
    ("run_duration_seconds", "How long the last run took."),
    ("run_exit_code", "The last run's exit code (see the README's exit codes)."),
    ("http_requests", "HTTP requests the last run sent to the portal."),
    ("http_503_received", "Requests the portal refused with 503 QUERY_LIMIT_EXCEEDED in the last run."),
)


def render(run, groups, exit_code: int, now: float | None = None) -> str:
    """The textfile for one run (`run` is an app.SyncRun, possibly cut short; `groups` the configured
    GroupConfig lanes)."""
    reports = {r.state_key: r for r in run.reports}
    values: dict[str, list[tuple[str, float]]] = {name: [] for name, _ in GROUP_SERIES}
    for group in groups:
        target = f',target="{group.target_task}"' if group.target else ""
        label = f'{{group="{group.id}"{target}}}'
        success = _unix(run.last_success.get(group.lane))
        if success is not None:
            values["last_success_timestamp_seconds"].append((label, success))
        report = reports.get(group.lane)
        if report is None:
            continue  # the run stopped before this group: only what the state knows
        values["group_ok"].append((label, 1 if report.ok else 0))
        values["mirrors_posted"].append((label, sum(report.posted.values())))
        values["held_back"].append((label, report.held_back))
        values["quarantined"].append((label, report.quarantined))
        values["out_of_time"].append((label, 1 if report.out_of_time else 0))
        values["repaired"].append((label, 0))
    run_values = {
        "run_timestamp_seconds": time.time() if now is None else now,
        "run_duration_seconds": round(run.duration, 3),
        "run_exit_code": int(exit_code),
        "http_requests": run.stats.requests,
        "http_503_received": run.stats.refused_503,
    }
    lines: list[str] = []
    for name, help_text in GROUP_SERIES:
        _header(lines, name, help_text)
        lines.extend(f"{PREFIX}{name}{label} {_number(value)}" for label, value in values[name])
    for name, help_text in RUN_SERIES:
        _header(lines, name, help_text)
        lines.append(f"{PREFIX}{name} {_number(run_values[name])}")
    return "\n".join(lines) + "\n"


def write_metrics(path: str, run, groups, exit_code: int) -> None:
    write_atomic(Path(path), render(run, groups, exit_code).encode("utf-8"), 0o644)


def _header(lines: list[str], name: str, help_text: str) -> None:
    lines.append(f"# HELP {PREFIX}{name} {help_text}")
    lines.append(f"# TYPE {PREFIX}{name} gauge")


def _unix(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
