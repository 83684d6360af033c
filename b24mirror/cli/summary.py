"""Render results for people (stderr summaries, readable tables) and for machines (JSON on stdout).

Plain print to the given streams: the CLI decides where they go, and no click is needed here.
"""
from __future__ import annotations

import sys
from typing import TextIO

from b24mirror.cli import jsonout
from b24mirror.policy.models import talk_as_comment
from b24mirror.policy.plan import REASON_ALREADY, REASON_BEFORE_BASELINE
from b24mirror.policy.render.dates import format_date
from b24mirror.policy.words import grouped, plural

NOT_RULES = {REASON_ALREADY, REASON_BEFORE_BASELINE}
KIND_WORDS = {"comment": ("comment", "comments"), "event": ("event", "events"), "subtask": ("new subtask", "new subtasks"),
              "result": ("result", "results"), "report": ("status report", "status reports")}


def _count(n: int, kind: str) -> str:
    return plural(n, *KIND_WORDS.get(kind, (kind,)))


def summary_line(report, *, dry_run: bool = False) -> str:
    if report.error:
        return f"{report.label}: FAILED: {report.error}"
    by_rules = sum(n for reason, n in report.skipped.items() if reason not in NOT_RULES)
    if dry_run:
        counts: dict[str, int] = {}
        items = 0
        for mirror in report.planned:
            kind = "digest" if mirror.covers else talk_as_comment(mirror.marker.kind)
            counts[kind] = counts.get(kind, 0) + 1
            items += len(mirror.covers)
        verb = "would be mirrored"
    else:
        counts, items, verb = report.posted, report.digest_items, "mirrored"
    done = ", ".join(_count(n, kind) + (f" ({plural(items, 'item')})" if kind == "digest" else "")
                     for kind, n in sorted(counts.items())) or "nothing new"
    parts = [f"{report.label}: {done} {verb}" if counts else f"{report.label}: nothing new"]
    if by_rules:
        parts.append(f"{by_rules} skipped by rules")
    if report.first_sync and not counts:
        recorded = "the baseline would be recorded by a real run" if dry_run else "baseline recorded"
        parts.append(f"first sync: {recorded}, older items are not mirrored (use --backfill to import them)")
    if report.refused:
        parts.append(f"{plural(report.refused, 'post')} refused by the portal, tried again next run (set aside after 3)")
    if report.quarantined:
        parts.append(f"{report.quarantined} quarantined: see `b24mirror status`, then `b24mirror repair`")
    if report.out_of_time:
        lost = (f"the answer to {plural(report.unsettled, 'post')} was lost, so whether they landed is unknown: the "
                "next run reads the master back before posting any again; " if report.unsettled else "")
        parts.append(f"run_deadline reached: {lost}the rest waits for the next run")
    if report.held_back:
        parts.append(f"{report.held_back} held back by max_posts; run sync again or raise --max-posts")
    if report.digest_held:
        parts.append(f"{report.digest_held} held for the digest due {format_date(report.digest_due)}")
    if report.checklist:
        parts.append("checklist: " + ", ".join(f"{n} {action}" for action, n in sorted(report.checklist.items())))
    return "; ".join(parts)


def print_sync_reports(reports, *, dry_run: bool, as_json: bool, quiet: bool = False,
                       shown: dict[int, list[str]] | None = None, out: TextIO | None = None,
                       err: TextIO | None = None) -> None:
    """Per group its warnings and a summary line on stderr; with --json the summary on stdout.

    `shown`: per group, the warnings due this run (see notices.py); None shows every warning.
    `quiet` (-q, cron) keeps only what needs a person: those warnings and the failed groups."""
    out, err = out or sys.stdout, err or sys.stderr
    for report in reports:
        if dry_run and not as_json:
            for mirror in report.planned:
                out.write(f"--- {report.label}, {mirror.marker}\n{mirror.text}\n\n")
        warnings = report.warnings if shown is None else shown.get(report.state_key, report.warnings)
        for warning in grouped(warnings):
            err.write(f"{report.label}: warning: {warning}\n")
        if not quiet:
            for note in grouped(report.notes):
                err.write(f"{report.label}: {note}\n")
        if not quiet or not report.ok:
            err.write(summary_line(report, dry_run=dry_run) + "\n")
    if as_json:
        payload = {"dry_run": dry_run, "groups": [r.to_dict() for r in reports]}
        if dry_run:
            for entry, report in zip(payload["groups"], reports):
                entry["mirrors"] = [{"marker": str(m.marker), "text": m.text} for m in report.planned]
        jsonout.write(out, payload)


def _ago(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def print_statuses(statuses, *, as_json: bool, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if as_json:
        jsonout.write(out, {"groups": [s.to_dict() for s in statuses]})
        return
    rows = [("group", "master", "last success", "cursor", "mirrors", "last error")]
    for s in statuses:
        error = s.last_error.get("message", "") if s.last_error else ""
        rows.append((s.label.removeprefix("group "), str(s.master_task), _ago(s.ago_seconds), s.cursor or "-", str(s.mirrors),
                     (error[:60] + "…") if len(error) > 60 else error))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")
    for s in statuses:
        for notice in grouped(s.notices):
            out.write(f"{s.label}: warning: {notice}\n")
        for item in s.quarantined:
            out.write(f"{s.label}: quarantined: {item['marker']}, refused {item.get('count')} times "
                      f"({item.get('error', '')}); fix the cause, then run `b24mirror repair --group {s.group_id}`\n")
        if s.digest_held:
            out.write(f"{s.label}: {plural(s.digest_held, 'item')} held for the digest due "
                      f"{format_date(s.digest_due)}\n")
        if s.pending:
            out.write(f"{s.label}: {plural(s.pending, 'task')} partly done; the next run goes on with them\n")
