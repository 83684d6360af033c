"""End-to-end: `audit` and `repair` judge titles as the sync does, because they ask the same planner."""
import json
import re

import pytest

pytestmark = pytest.mark.e2e


def test_a_hide_rule_on_a_title_makes_its_mirrors_leaks_that_repair_removes(any_world):
    world, p = any_world, any_world.portal
    world.write_config()
    world.run("sync")
    task = p.add_task("Salary review", created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                      parent_id=world.master, new_card=p.tasks[world.design].new_card, auditors=(world.me,))
    cid = p.add_comment(task, world.anna, "First numbers are in")
    control = p.add_comment(world.design, world.boris, "Control note")
    world.run("sync")
    leaked = {f"b24m:subtask:{world.master}:{task}", world.talk(task, cid)}
    assert leaked <= set(world.mirrors())  # no rule yet: mirrored as before

    world.write_config(rules={"hide": ["(?i)salary"]})
    audit = world.run("audit", "--json", check=False)
    assert audit.returncode != 0
    findings = json.loads(audit.stdout)["groups"][0]["findings"]
    assert {f["marker"] for f in findings if f["kind"] == "leaked"} == leaked
    world.run("repair", check=False)
    assert not leaked & set(world.mirrors()) and world.talk(world.design, control) in world.mirrors()
    assert not any(re.search("(?i)salary", t) for t in world.mirror_texts() if t)
    assert world.run("audit", check=False).returncode == 0
