"""repair (and the audit it builds on) against the fake portal over HTTP, in both comment worlds.

Damage is done as people do it, behind the tool's back: a mirror deleted, a mirror copied, a
rule changed. The verdict is read from the portal's own data and from the state file.
"""
import json
from collections import Counter

import pytest

from b24mirror.policy.models import find_markers
from b24mirror.state import open_state, read_state

pytestmark = pytest.mark.e2e


def synced(world):
    """Two mirrors in the master: one of Anna's comment on design, one of Boris's on drawings."""
    world.run("sync")
    c1 = world.portal.add_comment(world.design, world.anna, "first mirrored comment")
    c2 = world.portal.add_comment(world.drawings, world.boris, "second mirrored comment")
    world.run("sync")
    return world.talk(world.design, c1), world.talk(world.drawings, c2)


def mirror_ids(world, marker: str) -> list[int]:
    """Ids of our own live comments in the master that carry exactly this one marker."""
    return [c["id"] for c in world.portal.comments(world.master)
            if c["author_id"] == world.me and not c.get("deleted")
            and [str(m) for m in find_markers(c["text"])] == [marker]]


def ledger(world) -> dict:
    return read_state(world.state_path).to_dict()["groups"][str(world.group)]["ledger"]


def audit(world):
    result = world.run("audit", "--json", check=False)
    return result.returncode, json.loads(result.stdout)["groups"][0]


def repair(world, *args):
    result = world.run("repair", "--json", *args, check=False)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)["groups"][0]


def snapshot(world):
    """Everything a write would change: the state file and the master's comments."""
    return world.state_path.read_bytes(), world.portal.comments(world.master)


def test_sync_does_not_repost_a_mirror_a_person_deleted_and_audit_says_why(any_world):
    world = any_world
    first, _ = synced(world)
    assert audit(world)[0] == 0  # the chat world too, whose task lists carry no chatId
    world.portal.delete_comment(world.master, mirror_ids(world, first)[0])
    world.run("sync")
    world.run("sync")
    assert mirror_ids(world, first) == []
    code, report = audit(world)
    assert code == 1
    [finding] = report["findings"]
    assert (finding["kind"], finding["marker"]) == ("missing", first)
    assert "deleted from the master" in finding["detail"]
    assert finding["fix"] == f"b24mirror repair --group {world.group}"
    assert f"fix: b24mirror repair --group {world.group}" in world.run("audit", check=False).stdout


def test_repair_reposts_a_deleted_mirror_records_its_new_id_and_a_second_repair_writes_nothing(any_world):
    world = any_world
    first, second = synced(world)
    old_id = mirror_ids(world, first)[0]
    world.portal.delete_comment(world.master, old_id)
    code, report = repair(world)
    assert code == 0, report
    assert [(a["action"], a["marker"], a["done"]) for a in report["actions"]] == [("post", first, True)]
    [new_id] = mirror_ids(world, first)
    assert new_id != old_id and ledger(world)[first]["id"] == new_id == report["actions"][0]["comment_id"]
    assert Counter(world.mirrors()) == Counter([first, second])
    assert audit(world)[0] == 0
    before = snapshot(world)
    code, report = repair(world)
    assert code == 0 and report["actions"] == []
    assert snapshot(world) == before
    world.run("sync")
    assert Counter(world.mirrors()) == Counter([first, second])


def test_repair_deletes_duplicates_beyond_the_first(any_world):
    world = any_world
    first, second = synced(world)
    [original] = mirror_ids(world, first)
    text = next(c["text"] for c in world.portal.comments(world.master) if c["id"] == original)
    copies = [world.portal.add_comment(world.master, world.me, text) for _ in range(2)]
    code, report = repair(world)
    assert code == 0, report
    assert sorted(a["comment_id"] for a in report["actions"] if a["action"] == "delete") == copies
    assert mirror_ids(world, first) == [original]
    assert ledger(world)[first]["id"] == original
    assert Counter(world.mirrors()) == Counter([first, second])


def test_repair_deletes_a_leak_after_a_rule_change_and_sync_does_not_bring_it_back(any_world):
    world = any_world
    first, second = synced(world)
    world.write_config(rules={"exclude_authors": [world.boris]})
    code, report = repair(world)
    assert code == 0, report
    assert [(a["action"], a["marker"], a["reason"]) for a in report["actions"]] == [("delete", second, "leaked")]
    assert mirror_ids(world, second) == [] and second not in ledger(world)
    world.run("sync")
    assert world.mirrors() == [first]
    assert audit(world)[0] == 0


def test_dry_run_lists_every_action_and_writes_nothing(world):
    first, second = synced(world)
    world.portal.delete_comment(world.master, mirror_ids(world, first)[0])
    [kept] = mirror_ids(world, second)
    text = next(c["text"] for c in world.portal.comments(world.master) if c["id"] == kept)
    copy = world.portal.add_comment(world.master, world.me, text)
    before = snapshot(world)
    code, report = repair(world, "--dry-run")
    assert code == 0, report
    assert [(a["action"], a["marker"], a["comment_id"], a["done"]) for a in report["actions"]] == [
        ("delete", second, copy, False), ("post", first, None, False)]
    assert snapshot(world) == before
    table = world.run("repair", "--dry-run", check=False).stdout
    lines = [line.split() for line in table.splitlines()]
    assert ["would", "post", first, "(missing)"] in lines
    assert ["would", "delete", second, "comment", str(copy), "(duplicated)"] in lines
    assert snapshot(world) == before


def test_a_persons_comment_with_a_marker_is_left_alone(any_world):
    world = any_world
    first, second = synced(world)
    [original] = mirror_ids(world, first)
    text = next(c["text"] for c in world.portal.comments(world.master) if c["id"] == original)
    pasted = world.portal.add_comment(world.master, world.anna, text)  # a person quotes a mirror, marker and all
    two = world.portal.add_comment(world.master, world.me, f"{first} and {second}")  # ours, but two markers
    world.write_config(rules={"exclude_authors": [world.anna]})  # now the first one is a leak
    code, report = repair(world)
    assert code == 0, report
    assert [a["comment_id"] for a in report["actions"]] == [original]
    alive = {c["id"]: c["text"] for c in world.portal.comments(world.master) if not c.get("deleted")}
    assert alive[pasted] == text and two in alive


def test_a_lost_answer_during_repair_is_settled_by_reading_back_without_a_duplicate(any_world):
    world = any_world
    first, second = synced(world)
    world.portal.delete_comment(world.master, mirror_ids(world, first)[0])
    post = "im.message.add" if world.portal.tasks[world.master].new_card else "task.commentitem.add"
    world.portal.faults.add("lost_response", method="batch", contains=post, count=1)
    code, report = repair(world)
    assert world.portal.stats.faults_by_kind["lost_response"] == 1
    assert code == 0, report
    [new_id] = mirror_ids(world, first)
    assert ledger(world)[first]["id"] == new_id
    assert repair(world)[1]["actions"] == []
    world.run("sync")  # nor does the next sync post it again
    assert Counter(world.mirrors()) == Counter([first, second])


def test_an_unreadable_chat_is_named_with_its_fix_not_listed_as_missing(chat_world):
    world = chat_world
    p = world.portal
    world.run("sync")
    hidden = p.add_task("Private", created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                        parent_id=world.design, new_card=True, auditors=())
    p.add_comment(hidden, world.anna, "said where the robot cannot read")
    p.set_status(hidden, 3, by=world.boris)
    sync = world.run("sync", check=False)
    assert f"task {hidden}: user {world.me} is not a participant" in sync.stdout + sync.stderr
    assert not [m for m in world.mirrors() if m.split(":")[2] == str(hidden) and not m.startswith("b24m:subtask")]
    code, report = audit(world)
    assert code == 1
    kinds = [(f["kind"], f["task"]) for f in report["findings"]]
    assert kinds == [("unreadable", hidden)], report
    assert "auto_observe" in report["findings"][0]["fix"] and f"observer of task {hidden}" in report["findings"][0]["fix"]
    code, repaired = repair(world)
    assert code == 1 and repaired["actions"] == [] and repaired["left"][0]["kind"] == "unreadable"


def test_a_quarantined_mirror_shows_in_audit_and_repair_posts_it_and_clears_the_count(world):
    first, second = synced(world)
    world.portal.delete_comment(world.master, mirror_ids(world, first)[0])
    with open_state(world.state_path) as state:
        group = state.group(world.group)
        del group.ledger[first]  # as if the portal had refused it three runs in a row
        group.meta["rejected"] = {first: {"count": 3, "error": "ERROR_CORE: Comment text too long", "at": "x"}}
        state.save()
    world.run("sync")
    assert mirror_ids(world, first) == []
    code, report = audit(world)
    assert code == 1
    [finding] = report["findings"]
    assert (finding["kind"], finding["marker"]) == ("quarantined", first)
    assert "Comment text too long" in finding["detail"] and f"repair --group {world.group}" in finding["fix"]
    code, repaired = repair(world)
    assert code == 0, repaired
    assert len(mirror_ids(world, first)) == 1
    assert first not in read_state(world.state_path).to_dict()["groups"][str(world.group)]["meta"]["rejected"]


def test_a_post_the_portal_refuses_leaves_repair_failing_with_the_reason_and_the_ledger_as_it_was(world):
    first, second = synced(world)
    old_id = mirror_ids(world, first)[0]
    world.portal.delete_comment(world.master, old_id)
    world.portal.faults.add("500", method="batch", contains="task.commentitem.add")
    code, report = repair(world)
    assert code == 1
    [action] = report["actions"]
    assert action["done"] is False and action["error"]
    assert [f["kind"] for f in report["left"]] == ["missing"]
    assert ledger(world)[first]["id"] == old_id  # sync still leaves it be
    world.portal.faults.clear()
    assert repair(world)[0] == 0 and len(mirror_ids(world, first)) == 1
