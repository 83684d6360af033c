"""End-to-end: a subtask kept out by a `hide` rule on its title keeps its whole branch out.

Its subtasks (within the configured depth) are the hidden subject's own work: their
announcements, comments and events stay out of the master, and `audit` and `repair` judge them the
same way (a branch mirrored before the rule existed is leaked, and repair removes it). Judged by
reading the master's comments in the portal, in both comment worlds.
"""
import json
import re

import pytest

pytestmark = pytest.mark.e2e

HIDE = {"hide": ["(?i)salary"]}


def test_a_title_hide_keeps_the_subtasks_under_it_out(any_world):
    world, p = any_world, any_world.portal
    card = p.tasks[world.design].new_card

    def subtask(title, parent):
        return p.add_task(title, created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                          parent_id=parent, new_card=card, auditors=(world.me,))

    world.write_config()
    world.run("sync")
    p.set_field(world.design, "TITLE", "Salary design", by=world.anna)
    branch = {world.talk(t, p.add_comment(t, world.anna, f'Numbers for {t}'))
              for t in (world.design, world.drawings)}
    control_task = subtask("Control", world.master)
    control = world.talk(control_task, p.add_comment(control_task, world.boris, 'Control note'))
    world.run("sync")
    assert branch | {control} <= set(world.mirrors())  # no rule yet: the branch is mirrored

    # The rule arrives: every mirror of the branch is a leak, the second level's included.
    world.write_config(rules=HIDE)
    audit = world.run("audit", "--json", check=False)
    assert audit.returncode == 1, audit.stdout + audit.stderr
    leaked = {f["marker"] for f in json.loads(audit.stdout)["groups"][0]["findings"] if f["kind"] == "leaked"}
    assert branch <= leaked and control not in leaked
    world.run("repair", check=False)
    assert not branch & set(world.mirrors()) and control in world.mirrors()
    assert world.run("audit", check=False).returncode == 0

    # Later work in the branch, a new second-level subtask included, stays out; the rest still comes.
    newest = subtask("Rates table", world.design)
    later = {world.talk(t, p.add_comment(t, world.anna, 'More numbers')) for t in (world.drawings, newest)}
    news = world.talk(control_task, p.add_comment(control_task, world.boris, 'Still here'))
    world.run("sync")
    shown = set(world.mirrors())
    assert news in shown and not later & shown
    assert not any(m.endswith(f":{newest}") for m in shown)  # not announced either
    assert not any(re.search(r"(?i)salary|Numbers for|More numbers", t) for t in world.mirror_texts() if t)
    assert world.run("audit", check=False).returncode == 0
