"""A project's life between runs: tasks that leave and come back, people who leave, backfills asked for late.
Each case runs the real command against the fake portal, in both comment worlds, and judges by the master."""
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e


def _texts_with(w, piece: str) -> list[str]:
    return [t for t in w.mirror_texts() if piece in t]


def _once_each(w) -> Counter:
    found = Counter(w.mirrors())
    assert set(found.values()) <= {1}, w.mirror_texts()
    return found


@pytest.mark.parametrize("away", ["loose", "other_group"])
def test_what_was_written_while_a_task_was_away_stays_out(any_world, away):
    w, p = any_world, any_world.portal
    before = p.add_comment(w.drawings, w.anna, "said while inside")
    w.run("sync")
    w.run("sync")  # the state knows the task as inside, with no entry date
    if away == "loose":
        p.move_task(w.drawings, parent_id=w.loose, by=w.anna)
    else:
        p.move_task(w.drawings, parent_id=None, group_id=w.other_group, by=w.anna)
    p.advance(60)
    p.add_comment(w.drawings, w.anna, "AWAY: written while outside the project")
    p.set_status(w.drawings, 3, by=w.anna)
    p.advance(60)
    p.move_task(w.drawings, parent_id=w.design, group_id=w.group, by=w.anna)
    p.advance(5)
    after = p.add_comment(w.drawings, w.anna, "said after coming back")
    w.run("sync")
    w.run("sync")
    found = _once_each(w)
    assert not _texts_with(w, "AWAY:"), w.mirror_texts()
    assert not [m for m in found if m.startswith(f"b24m:event:{w.drawings}:")], w.mirror_texts()
    assert found[f"b24m:comment:{w.drawings}:{after}"] == 1
    # A lost state reads it all again: the away part stays out.
    w.state_path.unlink()
    w.run("sync")
    assert not _texts_with(w, "AWAY:"), w.mirror_texts()
    _once_each(w)
    assert not w.run("audit", check=False).returncode


def test_backfill_asked_for_late_imports_the_past_of_tasks_with_news(any_world):
    w, p = any_world, any_world.portal
    old = {t: [p.add_comment(t, w.anna, f"history {t}.{n}") for n in range(4)] for t in (w.design, w.drawings)}
    p.advance(60)
    w.run("sync")
    news = p.add_comment(w.design, w.boris, "news after the first sync")
    w.run("sync")
    assert Counter(w.mirrors()) == Counter({f"b24m:comment:{w.design}:{news}": 1})
    w.run("sync", "--backfill")
    w.run("sync")
    found = _once_each(w)
    for task, ids in old.items():
        for cid in ids:
            assert found[f"b24m:comment:{task}:{cid}"] == 1, (task, cid, w.mirror_texts())
    assert found[f"b24m:comment:{w.design}:{news}"] == 1


@pytest.mark.parametrize("asked", ["at_the_first_sync", "after_the_first_sync"])
def test_after_a_complete_backfill_sync_dry_run_and_audit_agree(any_world, asked):
    w, p = any_world, any_world.portal
    for t in (w.design, w.drawings):
        p.add_comment(t, w.anna, f"history of {t}")
    p.set_status(w.drawings, 3, by=w.boris)
    p.advance(60)
    if asked == "after_the_first_sync":
        w.run("sync")
    w.run("sync", "--backfill", "--max-posts", "3")
    for _ in range(3):
        w.run("sync", "--max-posts", "3")
    found = _once_each(w)
    assert f"b24m:subtask:{w.master}:{w.design}" in found, w.mirror_texts()
    assert f"b24m:subtask:{w.design}:{w.drawings}" in found, w.mirror_texts()
    audit = w.run("audit", check=False)
    assert audit.returncode == 0, audit.stdout
    dry = w.run("sync", "--dry-run")
    assert "nothing new" in (dry.stdout + dry.stderr).lower(), dry.stdout + dry.stderr
    w.run("sync")
    assert Counter(w.mirrors()) == found


@pytest.mark.parametrize("args", [(), ("--backfill",)])
def test_a_dry_run_before_the_first_sync_promises_what_the_first_sync_posts(any_world, args):
    w, p = any_world, any_world.portal
    p.add_task("Survey", created_by=w.anna, responsible_id=w.boris, group_id=w.group, parent_id=w.design,
               new_card=bool(p.task(w.design)["chat_id"]), auditors=(w.me,))
    p.add_comment(w.design, w.anna, "history")
    p.advance(60)
    dry = w.run("sync", "--dry-run", *args)
    promised = {line.split(", ", 1)[1] for line in dry.stdout.splitlines() if line.startswith("--- group")}
    w.run("sync", *args)
    assert promised == set(_once_each(w)), dry.stdout
    assert bool(promised) == bool(args)
