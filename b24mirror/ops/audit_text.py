"""The audit as a person reads it: a line of counts per group (per target, with `targets:`), then a row per
finding with its fix."""
from __future__ import annotations

from b24mirror.ops.audit import FINDING_KINDS, GroupAudit
from b24mirror.ops.rows import finding_rows


def render_audit(audits: list[GroupAudit]) -> str:
    lines = []
    for audit in audits:
        if audit.error:
            lines.append(f"{audit.label}: FAILED: {audit.error}")
            continue
        counts = ", ".join(f"{audit.count(k)} {k}" for k in FINDING_KINDS)
        held = f"; {audit.held} held for the digest (sync posts them when it is due)" if audit.held else ""
        if audit.upcoming:
            held += f"; {audit.upcoming} newer than the last sync (they come with the next sync)"
        if audit.pending:
            held += f"; {audit.pending} of tasks the last sync left partly done (the next sync posts them)"
        lines.append(f"{audit.label}: {audit.mirrors} mirrors; {counts}{held}")
        if audit.findings:
            rows = finding_rows(audit.findings)
            width = max(len(subject) for _, subject, _, _ in rows)
            lines.append(f"  {'finding':<11}  {'marker':<{width}}  detail")
            for kind, subject, detail, fix in rows:
                lines.append(f"  {kind:<11}  {subject:<{width}}  {detail}")
                lines.append(f"  {'':<11}  {'':<{width}}  fix: {fix}")
        if audit.notes:
            lines.append(f"  {len(audit.notes)} mirror(s) of sources that left the project after they were posted, "
                         f"or were deleted with on_delete: mark (information; nothing to do):")
            lines.extend(f"  {n.kind:<11}  {n.subject}  {n.detail}" for n in audit.notes)
    return "\n".join(lines)
