"""End-to-end: rules judge everything a reader of the master sees, in both comment worlds.

Every rule kind (hide, redact) against every place a word can reach the master: comment text, a
subtask's title, a file name, an event's value, a checklist item, a digest. A `hide` match keeps the
item (and, for a title, everything of its subtask) out; a `redact` match is replaced where it shows.
Judged by reading the master's comments and checklist in the portal.
"""
import re

import pytest

from b24mirror.policy.models import find_markers

pytestmark = pytest.mark.e2e

WORD = re.compile(r"(?i)salary")
RULES = {"hide": {"hide": ["(?i)salary"]}, "redact": {"redact": ["(?i)salary"]}}
HOUR = 3600


def master_view(world) -> str:
    """All a reader of the master sees: our comments and the checklist's items."""
    comments = [c["text"] for c in world.portal.comments(world.master) if c["author_id"] == world.me]
    items = [i.title for i in world.portal.checklist.values() if i.task_id == world.master]
    return "\n".join(comments + items)


def new_subtask(world, title: str, parent: int | None = None) -> int:
    return world.portal.add_task(title, created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                                 parent_id=parent or world.master, new_card=world.portal.tasks[world.design].new_card,
                                 auditors=(world.me,))


def comment_place(world):
    cid = world.portal.add_comment(world.design, world.anna, "The salary table is ready")
    return [world.talk(world.design, cid)]


def title_place(world):
    task = new_subtask(world, "Salary review")
    cid = world.portal.add_comment(task, world.anna, "First numbers are in")
    return [f"b24m:subtask:{world.master}:{task}", world.talk(task, cid)]


def file_place(world):
    cid = world.portal.add_comment(world.design, world.anna, "", attachments=[{"name": "salary-2026.xlsx"}])
    return [world.talk(world.design, cid)]


def event_place(world):
    world.portal.set_field(world.drawings, "TITLE", "Drawings", by=world.anna)  # was "Salary drawings"
    row = world.portal.tasks[world.drawings].history[-1]
    return [f"b24m:event:{world.drawings}:{row.id}"]


def checklist_place(world):
    task = new_subtask(world, "Salary review")
    return [f"b24m:subtask:{world.master}:{task}"]  # and its checklist item, judged by master_view


def digest_place(world):
    task = new_subtask(world, "Salary review", parent=world.design)  # announced in the digest under its title
    cid = world.portal.add_comment(task, world.anna, "Numbers attached")
    return [f"b24m:subtask:{world.design}:{task}", world.talk(task, cid)]


PLACES = {"comment": comment_place, "title": title_place, "file name": file_place, "event value": event_place,
          "checklist item": checklist_place, "digest": digest_place}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("kind", list(RULES))
def test_a_rule_judges_every_place_a_reader_sees(any_world, kind, place):
    world, p = any_world, any_world.portal
    p.set_field(world.drawings, "TITLE", "Salary drawings", by=world.anna)  # before the first sync: not news
    keys = {"rules": {**RULES[kind], "events": ["status", "deadline", "subtask", "title"]}}
    if place == "checklist item":
        keys["checklist"] = True
    if place == "digest":
        keys["digest"] = {"every": "1h"}
    world.write_config(**keys)
    world.run("sync")
    judged = PLACES[place](world)
    control = p.add_comment(world.design, world.boris, "Control note")  # proves the run mirrored at all
    world.run("sync")
    if place == "digest":
        p.advance(HOUR)
        world.run("sync")
        assert "#b24m-digest:" in master_view(world)
    mirrored = set(world.mirrors())
    assert world.talk(world.design, control) in mirrored
    assert not WORD.search(master_view(world)), master_view(world)
    if kind == "hide":
        assert not mirrored & set(judged)
    else:
        assert set(judged) <= mirrored
    if place == "checklist item":
        items = [i.title for i in p.checklist.values() if i.task_id == world.master and i.created_by == world.me]
        task = int(judged[0].rsplit(":", 1)[1])
        assert any(t.startswith(f"#{task} ") for t in items) == (kind == "redact")
    audit = world.run("audit", check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr  # the audit judges alike: clean


def test_a_chat_message_lists_its_files_as_a_forum_comment_does(any_world):
    world, p = any_world, any_world.portal
    world.write_config()
    world.run("sync")
    cid = p.add_comment(world.design, world.anna, "Scans", attachments=[{"name": "survey-scan.pdf"}])
    world.run("sync")
    [mirror] = [c["text"] for c in p.comments(world.master)
                if world.talk(world.design, cid) in map(str, find_markers(c["text"]))]
    assert "survey-scan.pdf" in mirror
