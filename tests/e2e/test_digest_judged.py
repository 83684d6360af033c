"""End-to-end: a digest posts what its items are when it goes out, and one refused item blocks no other.

Each held item is judged again when its digest is due: its source as it is then (edited, deleted)
and the rules as they are then. An item the portal refuses is found within the run; the others go
out, and the refusal counts against that item alone. Both comment worlds; judged on the portal's data.
"""
import json

import pytest

from b24mirror.policy.models import find_markers
from b24mirror.state import read_state

pytestmark = pytest.mark.e2e

HOUR = 3600


def digest_texts(world) -> list[str]:
    return [c["text"] for c in world.portal.comments(world.master)
            if c["author_id"] == world.me and "#b24m-digest:" in c["text"]]


def edit(world, task: int, cid: int, text: str) -> None:
    p = world.portal
    if p.tasks[task].new_card:
        p.edit_message(p.find_message(cid), text)
    else:
        p.edit_comment(task, cid, text)


def delete(world, task: int, cid: int) -> None:
    p = world.portal
    if p.tasks[task].new_card:
        p.delete_message(p.find_message(cid))
    else:
        p.delete_comment(task, cid)


def held_then_due(world, change, **keys) -> tuple[str, set[str], int, int]:
    """Hold a control item and the judged one, `change` the judged one while it waits, post the digest."""
    p = world.portal
    world.write_config(digest={"every": "1h"}, **keys)
    world.run("sync")
    control = p.add_comment(world.design, world.boris, "Control note")
    judged = p.add_comment(world.drawings, world.anna, "Draft: price 100")
    world.run("sync")
    assert digest_texts(world) == []
    change(judged)
    p.advance(HOUR)
    world.run("sync")
    world.run("sync")
    [digest] = digest_texts(world)
    assert world.talk(world.design, control) in set(world.mirrors())
    return digest, set(world.mirrors()), control, judged


def test_an_item_edited_while_it_waits_goes_out_with_its_new_text(any_world):
    world = any_world
    digest, mirrored, _, judged = held_then_due(
        world, lambda cid: edit(world, world.drawings, cid, "Final: price 120"), on_edit="update")
    assert world.talk(world.drawings, judged) in mirrored
    assert "Final: price 120" in digest and "Draft" not in digest


def test_an_item_edited_into_hidden_text_while_it_waits_is_not_posted(any_world):
    world = any_world
    digest, mirrored, _, judged = held_then_due(
        world, lambda cid: edit(world, world.drawings, cid, "#internal price 120"), on_edit="update",
        rules={"hide": ["^#internal"]})
    assert world.talk(world.drawings, judged) not in mirrored
    assert "price" not in digest


def test_an_item_deleted_while_it_waits_is_not_posted(any_world):
    world = any_world
    digest, mirrored, _, judged = held_then_due(world, lambda cid: delete(world, world.drawings, cid))
    assert world.talk(world.drawings, judged) not in mirrored
    assert "price" not in digest


def test_a_hide_rule_added_while_an_item_waits_keeps_it_out(any_world):
    world = any_world
    digest, mirrored, _, judged = held_then_due(
        world, lambda cid: world.write_config(digest={"every": "1h"}, rules={"hide": ["(?i)price"]}))
    assert world.talk(world.drawings, judged) not in mirrored
    assert "price" not in digest


def post_method(world) -> str:
    return "im.message.add" if world.portal.tasks[world.master].new_card else "task.commentitem.add"


def test_an_item_the_portal_refuses_holds_back_no_other_and_is_quarantined_alone(any_world):
    world, p = any_world, any_world.portal
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    first = p.add_comment(world.design, world.anna, "Harmless first note")
    blocked = p.add_comment(world.drawings, world.boris, "Note the portal refuses BLOCKED")
    last = p.add_comment(world.design, world.boris, "Harmless last note")
    world.run("sync")
    p.faults.refuse(post_method(world), contains="BLOCKED")
    p.advance(HOUR)
    world.run("sync", check=False)
    assert p.faults.refused >= 1
    mirrored = set(world.mirrors())
    first_m, blocked_m, last_m = (world.talk(world.design, first), world.talk(world.drawings, blocked),
                                  world.talk(world.design, last))
    assert {first_m, last_m} <= mirrored and blocked_m not in mirrored  # the others went out in the same run
    for _ in range(3):
        world.run("sync", check=False)
    assert blocked_m not in set(world.mirrors())
    rejected = read_state(world.state_path).to_dict()["groups"][str(world.group)]["meta"]["rejected"]
    assert set(rejected) == {blocked_m} and rejected[blocked_m]["count"] == 3
    status = world.run("status", check=False).stdout
    assert f"quarantined: {blocked_m}" in status and first_m not in status
    findings = json.loads(world.run("audit", "--json", check=False).stdout)["groups"][0]["findings"]
    assert [f["marker"] for f in findings if f["kind"] == "quarantined"] == [blocked_m]
    assert world.run("sync", check=False).returncode == 0  # set aside: the runs go on cleanly
    markers = [str(m) for text in digest_texts(world) for m in find_markers(text)]
    assert sorted(markers) == sorted({first_m, last_m})  # each posted once
