"""audit and repair while a backfill is under way: the history it imports is wanted, not leaked."""
from collections import Counter

import pytest

from .test_repair import audit, repair

pytestmark = pytest.mark.e2e


def test_audit_and_repair_leave_a_running_backfills_mirrors_alone(world):
    """Comments older than the first sync, imported by a backfill the cap has not finished: audit finds no
    leak among them and repair deletes none; the backfill then brings the rest."""
    w, p = world, world.portal
    old = [p.add_comment(w.design, w.anna, f"from before {n}") for n in range(5)]
    p.advance(60)
    w.run("sync")
    w.run("sync", "--backfill", "--max-posts", "2")
    imported = w.mirrors()
    assert len(imported) == 2
    code, report = audit(w)
    assert [f for f in report["findings"] if f["kind"] == "leaked"] == [], report["findings"]
    code, report = repair(w)
    assert [a for a in report["actions"] if a["action"] == "delete"] == [], report["actions"]
    assert Counter(w.mirrors()) >= Counter(imported)
    for _ in range(3):  # 5 old comments and the announcements of 2 subtasks, 2 a run
        w.run("sync", "--max-posts", "2")
    assert set(Counter(w.mirrors()).values()) == {1}
    assert sorted(m for m in w.mirrors() if m.startswith("b24m:comment:")) == sorted(
        f"b24m:comment:{w.design}:{c}" for c in old)
