"""End-to-end: the real `b24mirror sync` against the fake portal, judged by the portal's data."""
import json
import subprocess
import sys
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e


def test_first_sync_posts_nothing_then_new_activity_is_mirrored_exactly_once(world):
    p = world.portal
    p.add_comment(world.design, world.anna, "An old comment from before the first sync")
    p.advance(2)
    world.run("sync")
    assert world.mirrors() == []

    c1 = p.add_comment(world.design, world.anna, "Drawings are ready for review")
    c2 = p.add_comment(world.drawings, world.boris, "Rebar diameters checked")
    p.set_status(world.design, 5, by=world.anna)
    for _ in range(3):
        world.run("sync")
    found = Counter(world.mirrors())
    assert found[f"b24m:comment:{world.design}:{c1}"] == 1
    assert found[f"b24m:comment:{world.drawings}:{c2}"] == 1
    status_events = [m for m in found if m.startswith(f"b24m:event:{world.design}:")]
    assert len(status_events) == 1
    assert all(n == 1 for n in found.values()), found
    assert len(found) == 3


def test_every_kind_of_ineligible_item_stays_out(world):
    p = world.portal
    world.write_config(rules={"hide": ["^#internal"], "exclude_extranet": True})
    world.run("sync")
    p.add_comment(world.foreign, world.anna, "other group")
    p.add_comment(world.loose, world.anna, "outside the subtree")
    p.add_comment(world.deep, world.anna, "too deep")
    p.add_comment(world.design, world.oscar, "not a member")
    p.add_comment(world.design, world.eve, "extranet member")
    p.add_comment(world.design, world.anna, "#internal price list")
    p.add_comment(world.master, world.anna, "the master's own")
    p.add_comment(world.design, world.me, "b24mirror's own user")
    p.add_system_comment(world.design, "Task created")
    good = p.add_comment(world.drawings, world.boris, "the one that belongs")
    world.run("sync")
    world.run("sync")
    assert world.mirrors() == [f"b24m:comment:{world.drawings}:{good}"]
    texts = "\n".join(world.mirror_texts())
    for leaked in ("other group", "outside the subtree", "too deep", "not a member", "extranet member",
                   "#internal", "price list", "b24mirror's own user"):
        assert leaked not in texts


def test_dry_run_changes_nothing(world):
    p = world.portal
    world.run("sync")
    p.add_comment(world.design, world.anna, "to be mirrored later")
    before_state = world.state_path.read_bytes()
    before = len(p.comments(world.master))
    result = world.run("sync", "--dry-run")
    assert "to be mirrored later" in result.stdout
    assert len(p.comments(world.master)) == before
    assert world.state_path.read_bytes() == before_state
    world.run("sync")
    assert len(world.mirrors()) == 1


def test_deleted_state_file_causes_no_duplicates(world):
    p = world.portal
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "first")
    world.run("sync")
    world.state_path.unlink()
    c2 = p.add_comment(world.design, world.anna, "second, while the state was lost")
    world.run("sync")
    world.run("sync")
    found = Counter(world.mirrors())
    assert found == Counter({f"b24m:comment:{world.design}:{c1}": 1, f"b24m:comment:{world.design}:{c2}": 1})


def test_rebuild_state_from_a_corrupt_file(world):
    p = world.portal
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "first")
    world.run("sync")
    world.state_path.write_text("{ not json")
    refused = world.run("sync", check=False)
    assert refused.returncode == 4 and "--rebuild-state" in refused.stderr
    c2 = p.add_comment(world.design, world.anna, "second")
    world.run("sync", "--rebuild-state")
    found = Counter(world.mirrors())
    assert found == Counter({f"b24m:comment:{world.design}:{c1}": 1, f"b24m:comment:{world.design}:{c2}": 1})
    assert list(world.tmp.glob("state.json.corrupt-*"))


def hold_state_lock(path):
    """Another process holding the state's lock until its stdin closes, as a run in progress does."""
    code = ("import sys\nfrom b24mirror.state import open_state\n"
            f"with open_state({str(path)!r}):\n    print('holding', flush=True)\n    sys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "holding"
    return child


def test_overlapping_runs_cause_no_duplicates(world):
    p = world.portal
    world.run("sync")
    for i in range(12):
        p.add_comment(world.design, world.anna, f"comment {i}")
    holder = hold_state_lock(world.state_path)  # a run in progress: the next one must do nothing
    try:
        locked = world.run("sync", check=False)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert locked.returncode == 3 and "another b24mirror run is in progress" in locked.stderr, locked.stderr
    assert world.mirrors() == []
    procs = [world.start("sync") for _ in range(3)]
    codes = [proc.wait(timeout=120) for proc in procs]
    assert set(codes) <= {0, 3} and 0 in codes, codes
    world.run("sync")
    found = Counter(world.mirrors())
    assert len(found) == 12 and set(found.values()) == {1}


def test_task_moved_out_of_the_subtree_stops_being_mirrored(world):
    p = world.portal
    world.run("sync")
    c1 = p.add_comment(world.drawings, world.anna, "still inside")
    world.run("sync")
    p.move_task(world.drawings, parent_id=world.loose)
    p.add_comment(world.drawings, world.anna, "after the move")
    world.run("sync")
    assert world.mirrors() == [f"b24m:comment:{world.drawings}:{c1}"]


def test_new_subtask_announced_once(world):
    p = world.portal
    world.run("sync")
    new = p.add_task("Site survey", created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                     parent_id=world.design)
    world.run("sync")
    world.run("sync")
    found = [m for m in world.mirrors() if m.startswith("b24m:subtask:")]
    assert found == [f"b24m:subtask:{world.design}:{new}"]


def test_json_summary_and_stderr_line(world):
    p = world.portal
    world.run("sync")
    p.add_comment(world.design, world.anna, "one")
    p.add_comment(world.design, world.oscar, "outsider")
    result = world.run("sync", "--json")
    summary = json.loads(result.stdout)
    assert summary["groups"][0]["posted"] == {"comment": 1}
    assert f"group {world.group}: 1 comment mirrored; 1 skipped by rules" in result.stderr


def test_max_posts_caps_and_the_rest_follows(world):
    p = world.portal
    world.run("sync")
    ids = [p.add_comment(world.design, world.anna, f"n{i}") for i in range(5)]
    result = world.run("sync", "--max-posts", "2")
    assert "held back" in result.stderr
    assert len(world.mirrors()) == 2
    world.run("sync")
    assert Counter(world.mirrors()) == Counter(f"b24m:comment:{world.design}:{c}" for c in ids)


def test_unknown_group_is_a_usage_error(world):
    result = world.run("sync", "--group", "999", check=False)
    assert result.returncode == 2 and "999" in result.stderr


def test_a_failing_group_does_not_stop_the_others(world):
    p = world.portal
    broken = {"id": world.other_group, "master_task": world.master}  # a master from another group
    good = {"id": world.group, "master_task": world.master, "depth": 2}
    world.config_path = world.tmp / "two.yaml"
    world.config_path.write_text(
        f'portal: {{webhook: "{world.server.webhook_url(world.me, world.secret)}"}}\n'
        f'state_file: "{world.state_path}"\ngroups: [{json.dumps(broken)}, {json.dumps(good)}]\n')
    world.run("sync", check=False)
    c = p.add_comment(world.design, world.anna, "still mirrored")
    result = world.run("sync", check=False)
    assert result.returncode == 1
    assert f"group {world.other_group}: FAILED: master task {world.master} is in group {world.group}, not in group {world.other_group}" in result.stderr
    assert world.mirrors() == [f"b24m:comment:{world.design}:{c}"]


def test_backfill_imports_history_across_runs_under_the_cap(world):
    p = world.portal
    old = [p.add_comment(world.design, world.anna, f"history {i}") for i in range(6)]
    p.add_comment(world.design, world.oscar, "an outsider, long ago")
    p.set_status(world.drawings, 5, by=world.boris)
    first = world.run("sync", "--backfill", "--max-posts", "4")
    assert "held back" in first.stderr
    assert len(world.mirrors()) == 4
    world.run("sync", "--max-posts", "4")
    world.run("sync", "--max-posts", "4")
    found = Counter(world.mirrors())
    assert set(found.values()) == {1}
    for cid in old:
        assert found[f"b24m:comment:{world.design}:{cid}"] == 1
    assert any(m.startswith(f"b24m:event:{world.drawings}:") for m in found)
    assert "an outsider" not in "\n".join(world.mirror_texts())
    # Posted oldest first, across the capped runs too.
    posted = [m for m in world.mirrors() if m.startswith(f"b24m:comment:{world.design}:")]
    assert posted == [f"b24m:comment:{world.design}:{cid}" for cid in old]


@pytest.mark.parametrize("kind", ["lost_response", "500", "slow"])
def test_a_post_whose_answer_is_lost_is_read_back_not_sent_again(world, kind):
    p = world.portal
    world.write_config(**{})
    world.config_path.write_text(world.config_path.read_text().replace("read_timeout: 5", "read_timeout: 1"))
    world.run("sync")
    ids = [p.add_comment(world.design, world.anna, f"posted once {i}") for i in range(3)]
    p.faults.add(kind, method="batch", count=1, contains="task.commentitem.add", seconds=2)
    world.run("sync", check=False)
    assert p.stats.faults_by_kind[kind] == 1
    world.run("sync")
    assert Counter(world.mirrors()) == Counter(f"b24m:comment:{world.design}:{c}" for c in ids)
