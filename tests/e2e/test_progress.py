"""Nothing stuck, nothing lost: what a run leaves undone, a later one finishes — after a lost state too."""
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e


def _comment_ids(world, task) -> list[int]:
    return [int(m.rsplit(":", 1)[1]) for m in world.mirrors() if m.startswith((f"b24m:comment:{task}:", f"b24m:message:{task}:"))]


def test_items_held_back_by_the_cap_survive_a_lost_state(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    ids = [p.add_comment(w.design, w.anna, f"item {n}") for n in range(30)]
    w.run("sync", "--max-posts", "10")
    assert len(w.mirrors()) == 10
    w.state_path.unlink()  # the other 20 were only held back
    for _ in range(4):
        w.run("sync", "--max-posts", "10")
    assert sorted(_comment_ids(w, w.design)) == sorted(ids)
    assert set(Counter(w.mirrors()).values()) == {1}


def test_an_interrupted_backfill_survives_a_lost_state(any_world):
    w, p = any_world, any_world.portal
    old = [p.add_comment(w.design, w.anna, f"history {n}") for n in range(30)]
    p.advance(60)
    w.run("sync")
    w.run("sync", "--backfill", "--max-posts", "10")
    assert len(w.mirrors()) == 10
    w.state_path.unlink()
    for _ in range(4):
        w.run("sync", "--max-posts", "10")
    assert _comment_ids(w, w.design) == old  # all of it, oldest first
    assert set(Counter(w.mirrors()).values()) == {1}


def test_backfill_after_the_first_sync_imports_the_history(world):
    w, p = world, world.portal
    old = [p.add_comment(w.design, w.anna, f"from before {n}") for n in range(3)]
    p.advance(60)
    first = w.run("sync")
    assert "use --backfill to import them" in first.stderr
    w.run("sync")
    assert w.mirrors() == []  # without asking, history stays out
    w.run("sync", "--backfill")
    assert _comment_ids(w, w.design) == old
    w.run("sync", "--backfill")  # asked again: nothing twice
    assert set(Counter(w.mirrors()).values()) == {1}  # the subtasks' announcements included
    assert Counter(m for m in w.mirrors() if m.startswith(("b24m:comment:", "b24m:message:"))) == Counter(
        w.talk(w.design, c) for c in old)


def test_backfill_set_in_the_config_later_imports_once_not_as_tasks_are_touched(world):
    w, p = world, world.portal
    old = [p.add_comment(t, w.anna, f"old on {t}") for t in (w.design, w.drawings)]
    p.advance(60)
    w.run("sync")
    w.write_config(backfill=True)
    w.run("sync")
    assert sorted(m for m in w.mirrors() if m.startswith(("b24m:comment:", "b24m:message:"))) == sorted(
        [w.talk(w.design, old[0]), w.talk(w.drawings, old[1])])
