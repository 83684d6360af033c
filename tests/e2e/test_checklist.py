"""End-to-end: `checklist: true` keeps one master checklist item per first-level subtask."""
import pytest

pytestmark = pytest.mark.e2e


def checklist(world) -> dict[str, bool]:
    """The master's checklist as a manager sees it: title -> ticked (the root "Checklist 1" left out)."""
    return {i.title: i.complete for i in world.portal.checklist.values()
            if i.task_id == world.master and i.parent_id}


def ours(world) -> list:
    return [i for i in world.portal.checklist.values()
            if i.task_id == world.master and i.created_by == world.me and i.parent_id]


def test_the_checklist_follows_the_subtasks_and_leaves_peoples_items_alone(world):
    p = world.portal
    world.write_config(checklist=True)
    p.add_checklist_item(world.master, "Buy coffee", by=world.anna)
    world.run("sync")
    assert checklist(world) == {"Buy coffee": False, f"#{world.design} Design": False}  # level 2 is not listed

    survey = p.add_task("Site survey", created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                        parent_id=world.master, auditors=(world.me,))
    world.run("sync")
    assert checklist(world)[f"#{survey} Site survey"] is False

    p.set_status(survey, 5, by=world.boris)
    world.run("sync")
    assert checklist(world)[f"#{survey} Site survey"] is True

    p.set_status(survey, 2, by=world.anna)  # reopened
    p.set_field(world.design, "TITLE", "Design phase")
    world.run("sync")
    assert checklist(world)[f"#{survey} Site survey"] is False
    assert f"#{world.design} Design phase" in checklist(world) and f"#{world.design} Design" not in checklist(world)

    p.move_task(survey, parent_id=world.loose)  # moved out of the master's subtree
    world.run("sync")
    world.run("sync")
    assert checklist(world) == {"Buy coffee": False, f"#{world.design} Design phase": False}
    assert len(ours(world)) == 1


def test_a_person_unticking_our_item_is_left_alone_until_the_status_changes_again(world):
    p = world.portal
    world.write_config(checklist=True)
    world.run("sync")
    p.set_status(world.design, 5, by=world.boris)
    world.run("sync")
    [item] = ours(world)
    assert item.complete
    p.toggle_checklist_item(item.id, False, world.anna)
    p.add_comment(world.design, world.anna, "the subtask changes, its status does not")
    world.run("sync")
    assert not item.complete
    p.set_status(world.design, 2, by=world.anna)
    world.run("sync")
    p.set_status(world.design, 5, by=world.boris)
    world.run("sync")
    assert item.complete


def test_a_lost_state_and_a_lost_answer_never_add_an_item_twice(world):
    p = world.portal
    world.write_config(checklist=True)
    world.run("sync")
    # The adds travel inside `batch`: the fault is on the batch that carries one, applied and then unanswered.
    lost = p.faults.add("lost_response", method="batch", count=1, contains="task.checklistitem.add")
    survey = p.add_task("Site survey", created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                        parent_id=world.master, auditors=(world.me,))
    world.run("sync", check=False)
    assert lost.count == 0  # the answer was lost
    assert sorted(i.title for i in ours(world)) == [f"#{world.design} Design", f"#{survey} Site survey"]
    world.run("sync")
    assert sorted(i.title for i in ours(world)) == [f"#{world.design} Design", f"#{survey} Site survey"]

    world.state_path.unlink()
    p.set_status(survey, 5, by=world.boris)
    world.run("sync")
    world.run("sync")
    assert sorted(i.title for i in ours(world)) == [f"#{world.design} Design", f"#{survey} Site survey"]
    assert checklist(world)[f"#{survey} Site survey"] is True


def test_audit_finds_and_repair_fixes_a_missing_a_duplicated_and_a_stale_item(world):
    import json

    p = world.portal
    world.write_config(checklist=True)
    people = p.add_checklist_item(world.master, "Buy coffee", by=world.anna)
    survey = p.add_task("Site survey", created_by=world.anna, group_id=world.group, parent_id=world.master,
                        auditors=(world.me,))
    world.run("sync")
    mine = {i.title: i.id for i in ours(world)}
    p.checklist.pop(mine[f"#{survey} Site survey"])  # a person deleted our item: missing
    p.add_checklist_item(world.master, f"#{world.design} Design", by=world.me)  # a second one: duplicated
    p.checklist[mine[f"#{world.design} Design"]].title = f"#{world.design} Desgn"  # typed over: stale
    audit = json.loads(world.run("audit", "--json", check=False).stdout)["groups"][0]
    counts = audit["counts"]
    assert (counts["checklist missing"], counts["checklist duplicated"], counts["checklist stale"]) == (1, 1, 1)
    assert all(f["fix"] == f"b24mirror repair --group {world.group}" for f in audit["findings"])
    world.run("repair")
    assert sorted(checklist(world)) == sorted(["Buy coffee", f"#{world.design} Design", f"#{survey} Site survey"])
    assert len(ours(world)) == 2 and people in p.checklist  # people's item untouched
    assert json.loads(world.run("audit", "--json").stdout)["groups"][0]["findings"] == []
    second = json.loads(world.run("repair", "--json").stdout)
    assert second["groups"][0]["checklist"] == [] and second["groups"][0]["actions"] == []
