"""Which actions `repair` takes for which audit findings: pure, no portal."""
from b24mirror.ops.audit import DUPLICATED, LEAKED, MISSING, ORPHANED, GroupAudit
from b24mirror.policy.models import Marker, PlannedMirror
from b24mirror.ops.repair import DELETE, POST, plan_repair, render_repair
from b24mirror.config.settings import GroupConfig

A = Marker("comment", 5, 50)
B = Marker("comment", 6, 60)
C = Marker("comment", 7, 70)


def audit_with(*findings) -> GroupAudit:
    audit = GroupAudit(42, 1001)
    for kind, marker, ids in findings:
        mirror = PlannedMirror(marker, "text", "2024-01-01T00:00:00+00:00", marker.task_id) if kind == MISSING else None
        audit.add(kind, marker, "detail", "fix", ids, mirror=mirror)
    return audit


def test_a_leak_that_is_also_duplicated_is_deleted_whole_and_once():
    repair = plan_repair(GroupConfig(id=42, master_task=1001), audit_with((DUPLICATED, A, (11, 12, 13)), (LEAKED, A, (11, 12, 13))))
    assert [(a.action, a.comment_id, a.reason) for a in repair.actions] == [
        (DELETE, 11, LEAKED), (DELETE, 12, LEAKED), (DELETE, 13, LEAKED)]


def test_duplicates_keep_the_first_deletes_go_before_posts_and_orphans_are_left_for_a_person():
    repair = plan_repair(GroupConfig(id=42, master_task=1001), audit_with(
        (MISSING, B, ()), (DUPLICATED, A, (11, 14)), (ORPHANED, C, (15,))))
    assert [(a.action, a.marker, a.comment_id) for a in repair.actions] == [(DELETE, A, 14), (POST, B, None)]
    assert [f.kind for f in repair.left] == [ORPHANED] and not repair.clean
    assert "left orphaned" in render_repair([repair], dry_run=True)

