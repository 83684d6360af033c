"""Moves: a task's items count from the moment it entered the master's subtree. Each case runs the real
command against the fake portal, in both comment worlds, and judges by reading the master."""
from collections import Counter

import pytest


pytestmark = pytest.mark.e2e


def _texts_with(w, piece: str) -> list[str]:
    return [t for t in w.mirror_texts() if piece in t]


def test_a_level_3_task_moved_up_to_level_2_brings_none_of_its_past(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    p.set_status(w.deep, 3, by=w.boris)  # too deep: skipped by rules
    w.run("sync")
    assert not [m for m in w.mirrors() if f":{w.deep}:" in m]
    p.advance(3600)
    p.move_task(w.deep, parent_id=w.design, by=w.anna)
    p.advance(5)
    later = p.add_comment(w.deep, w.anna, "written after the move")
    w.run("sync")
    w.run("sync")
    found = Counter(w.mirrors())
    assert f"b24m:subtask:{w.design}:{w.deep}" in found, w.mirror_texts()
    assert not [m for m in found if m.startswith(f"b24m:event:{w.deep}:")], w.mirror_texts()
    assert found[w.talk(w.deep, later)] == 1
    assert all(n == 1 for n in found.values()), found
    announced = _texts_with(w, f"b24m:subtask:{w.design}:{w.deep}")[0]
    assert announced.startswith("Moved into the project"), announced


def test_a_task_of_another_group_moved_under_the_master_brings_none_of_its_past(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    kept = p.add_comment(w.design, w.anna, "an ordinary comment before")
    w.run("sync")
    p.add_comment(w.foreign, w.anna, "CONFIDENTIAL: said in the other group")
    p.set_status(w.foreign, 3, by=w.boris)
    p.advance(600)
    p.move_task(w.foreign, parent_id=w.design, group_id=w.group, by=w.anna)
    p.advance(5)
    later = p.add_comment(w.foreign, w.anna, "said in the project")
    w.run("sync")
    w.run("sync")
    assert not _texts_with(w, "CONFIDENTIAL"), w.mirror_texts()
    assert not [m for m in w.mirrors() if m.startswith(f"b24m:event:{w.foreign}:")], w.mirror_texts()
    expected = Counter({w.talk(w.design, kept): 1, f"b24m:subtask:{w.design}:{w.foreign}": 1,
                        w.talk(w.foreign, later): 1})
    assert Counter(w.mirrors()) == expected, w.mirror_texts()
    assert _texts_with(w, f"b24m:subtask:{w.design}:{w.foreign}")[0].startswith("Moved into the project")
    # A lost state re-reads everything since the oldest mirror: the entry is found again in the history.
    w.state_path.unlink()
    p.add_comment(w.foreign, w.boris, "after the state was lost")
    w.run("sync")
    w.run("sync")
    assert not _texts_with(w, "CONFIDENTIAL"), w.mirror_texts()
    assert all(n == 1 for n in Counter(w.mirrors()).values()), w.mirror_texts()
    assert len(_texts_with(w, "after the state was lost")) == 1


def test_a_created_subtask_is_still_announced_as_new(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    new = p.add_task("Site survey", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                     parent_id=w.design, new_card=bool(p.task(w.design)["chat_id"]), auditors=(w.me,))
    w.run("sync")
    assert _texts_with(w, f"b24m:subtask:{w.design}:{new}")[0].startswith("New subtask"), w.mirror_texts()
