"""End-to-end: a mirror posted before its task left the project and came back was posted while eligible.

A task's items count from its latest entry into the subtree: what was written while it was away stays out.
What was written and mirrored during an earlier stay inside is neither a leak nor a finding: `audit` names it
as information and `repair` leaves it, as for a task that left for good. Judged by the master's comments.
"""
import pytest

from tests.e2e.conftest import build_world

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("away, card", [("loose", "classic"), ("other_group", "chat")])
def test_a_mirror_from_before_a_task_left_and_came_back_stays(tmp_path, away, card):
    w = build_world(tmp_path, new_card=card == "chat")
    p = w.portal
    w.run("sync")
    earlier = w.talk(w.drawings, p.add_comment(w.drawings, w.anna, 'said during the first stay'))
    w.run("sync")
    assert earlier in w.mirrors()
    p.advance(60)
    if away == "loose":
        p.move_task(w.drawings, parent_id=w.loose, by=w.anna)
    else:
        p.move_task(w.drawings, parent_id=None, group_id=w.other_group, by=w.anna)
    p.advance(60)
    away_comment = w.talk(w.drawings, p.add_comment(w.drawings, w.anna, 'AWAY: said outside'))
    p.advance(60)
    p.move_task(w.drawings, parent_id=w.design, group_id=w.group, by=w.anna)
    w.run("sync")
    audit = w.run("audit", check=False)
    assert audit.returncode == 0, audit.stdout
    assert earlier in audit.stdout and "left since" in audit.stdout, audit.stdout  # named, as information
    w.run("repair")
    assert w.mirrors().count(earlier) == 1 and away_comment not in w.mirrors()
    w.server.shutdown()
