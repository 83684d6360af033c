"""Audit and repair findings as rows a person reads: findings about whole tasks of one kind share a row."""
from __future__ import annotations

from b24mirror.policy.words import grouped


def finding_rows(findings) -> list[tuple[str, str, str, str]]:
    """(kind, subject, detail, fix) per row: one per marker, and one per kind of whole-task finding, naming its
    tasks ("tasks 103, 106, … (+2 more)") instead of a row per task saying the same thing."""
    rows, whole = [], []
    for f in findings:
        if f.marker is None:
            whole.append(f)
        else:
            ids = f" (mirror {', '.join(map(str, f.mirror_ids))})" if f.mirror_ids else ""
            rows.append((f.kind, f.subject, f.detail + ids, f.fix))
    for kind in dict.fromkeys(f.kind for f in whole):
        for line in grouped([f"task {f.task_id}: {f.detail}\n{f.fix}" for f in whole if f.kind == kind]):
            subject, _, rest = line.partition(": ")
            detail, _, fix = rest.partition("\n")
            rows.append((kind, subject, detail, fix))
    return rows
