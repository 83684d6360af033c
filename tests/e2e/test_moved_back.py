"""End-to-end: a mirror posted before its task (or its parent, carrying it) left the project and came back was
posted while eligible.

A task's items count from its latest entry into the subtree: what was written while it was away stays out.
What was written and mirrored during an earlier stay inside is neither a leak nor a finding: `audit` names it
as information and `repair` leaves it, as for a task that left for good. Judged by the master's comments.
"""
import json

import pytest

from tests.e2e.conftest import build_world

pytestmark = pytest.mark.e2e


def _away_and_back(tmp_path, card, away, who):
    """A world where Drawings has a comment mirrored, then `who` ("drawings" itself, or "design", its parent)
    leaves the subtree (for Loose task, or another group), Drawings gets a comment, and `who` comes home; synced.
    Returns the world and the markers of the earlier comment and of the one written while away."""
    w = build_world(tmp_path, new_card=card == "chat")
    p = w.portal
    mover, home = (w.drawings, w.design) if who == "drawings" else (w.design, w.master)
    w.run("sync")
    earlier = w.talk(w.drawings, p.add_comment(w.drawings, w.anna, 'said during the first stay'))
    w.run("sync")
    assert earlier in w.mirrors()
    p.advance(60)
    if away == "loose":
        p.move_task(mover, parent_id=w.loose, by=w.anna)
    else:
        p.move_task(mover, parent_id=None, group_id=w.other_group, by=w.anna)
    p.advance(60)
    away_comment = w.talk(w.drawings, p.add_comment(w.drawings, w.anna, 'AWAY: said outside'))
    p.advance(60)
    p.move_task(mover, parent_id=home, group_id=w.group, by=w.anna)
    w.run("sync")
    return w, earlier, away_comment


@pytest.mark.parametrize("away, card", [("loose", "classic"), ("other_group", "chat")])
def test_a_mirror_from_before_a_task_left_and_came_back_stays(tmp_path, away, card):
    w, earlier, away_comment = _away_and_back(tmp_path, card, away, "drawings")
    audit = w.run("audit", check=False)
    assert audit.returncode == 0, audit.stdout
    assert earlier in audit.stdout and "left since" in audit.stdout, audit.stdout  # named, as information
    w.run("repair")
    assert w.mirrors().count(earlier) == 1 and away_comment not in w.mirrors()
    w.server.shutdown()


@pytest.mark.parametrize("away, card", [("loose", "chat"), ("other_group", "classic")])
def test_a_parent_that_left_and_came_back_carries_its_subtasks_history_with_it(tmp_path, away, card):
    """Drawings never moved itself: Design, its parent, left the subtree and came back. What was written in
    Drawings meanwhile stays out (a mirror of it is a leak, which repair deletes); what was mirrored before
    Design left stays, as information."""
    w, earlier, away_comment = _away_and_back(tmp_path, card, away, "design")
    p = w.portal
    assert away_comment not in w.mirrors() and w.mirrors().count(earlier) == 1
    # A mirror of the away item, as a run that judged by Drawings' own moves alone would have posted it.
    [shape] = [t for t in w.mirror_texts() if earlier in t]
    p.add_comment(w.master, w.me, shape.replace(earlier, away_comment).replace("said during the first stay",
                                                                                 "AWAY: said outside"))
    audit = w.run("audit", "--json", check=False)
    group = json.loads(audit.stdout)["groups"][0]
    assert [f["marker"] for f in group["findings"]] == [away_comment], audit.stdout  # a leak, and nothing else
    assert [n["marker"] for n in group["notes"] if n["kind"] == "left since"] == [earlier], audit.stdout
    w.run("repair")
    assert w.mirrors().count(earlier) == 1 and away_comment not in w.mirrors()
    assert w.run("audit", check=False).returncode == 0
    w.server.shutdown()
