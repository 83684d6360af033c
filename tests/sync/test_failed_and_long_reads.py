"""Reads that go past a page, and reads that fail: what was not read is read again, never taken as read.

Each case arms its fault for one run, asserts that it fired, lifts it, and judges by the master: every
item arrives, once. A fault taken as "read" would let the task's snapshot move, and nothing would
bring its items back until the task changed again.
"""
from __future__ import annotations

import pytest

from .conftest import Bed

PAGE = 50


def _comment_mirrors(bed: Bed, project) -> list[str]:
    return [m for m in bed.mirrors(project) if m.startswith(("b24m:comment:", "b24m:message:"))]


@pytest.mark.parametrize("signal", ["activity", "changed"])
def test_changed_tasks_past_the_first_page_of_a_listing_are_read_the_same_run(bed, signal):
    """55 of a group's 111 tasks change at once: the activity walk (comments move only activityDate) or the
    changed-since listing (a field change, here with activityDate left behind, under a page of newer and
    unchanged tasks) must read its second page."""
    project = bed.project("Busy", fillers=110)
    bed.sync()
    bed.portal.advance(1200)  # the tree is older than the listings' overlap
    bed.sync()
    changed = project.tasks[:55]
    for task in changed:
        t = bed.portal.tasks[task]
        if signal == "activity":
            bed.portal.add_comment(task, bed.anna, f"news on {task}")
            assert t.changed < t.activity  # only the activity order can tell
        else:
            activity = t.activity
            bed.portal.set_deadline(task, bed.portal.now_ts() + 86400 * 7, by=bed.anna)
            t.activity = activity  # only the changed-since listing can tell
    bed.sync()
    kind = "comment" if signal == "activity" else "event"
    found = {int(m.split(":")[2]) for m in bed.mirrors(project) if m.startswith(f"b24m:{kind}:")}
    assert found == set(changed)


def test_a_failed_history_read_leaves_the_task_to_be_read_again(bed):
    project = bed.project("History")
    target = project.tasks[0]
    bed.sync()
    bed.portal.set_status(target, 5, by=bed.anna)
    bed.portal.faults.refuse("tasks.task.history.list", f"'taskId': '{target}'", message="history unavailable")
    [report] = bed.run()
    assert bed.portal.faults.refused >= 1
    assert any("history unavailable" in w for w in report.warnings)
    assert [m for m in bed.mirrors(project) if m.startswith("b24m:event:")] == []
    bed.portal.faults.clear()
    bed.sync()
    bed.sync()
    events = [m for m in bed.mirrors(project) if m.startswith(f"b24m:event:{target}:")]
    assert len(events) == 1


def _refuse_second_page(bed: Bed, method: str, cursor_text: str) -> None:
    bed.portal.faults.refuse(method, cursor_text, message="the second page failed")


@pytest.mark.parametrize("new_card", [True, False], ids=["chat", "forum"])
def test_a_failed_page_of_a_long_list_is_read_again(bed, new_card):
    """A chat of 76 news is read in pages (the second one fails); a forum list comes whole (it fails)."""
    project = bed.project("Long talk", new_card=new_card)
    target = project.tasks[0]
    bed.sync()
    first = bed.portal.add_comment(target, bed.anna, "the first")
    bed.sync()
    ids = [first] + [bed.portal.add_comment(target, bed.anna, f"news {n}") for n in range(75)]
    if new_card:  # forwards from the cursor: the second page starts after the 50th news
        _refuse_second_page(bed, "im.dialog.messages.get", f"'FIRST_ID': '{ids[PAGE]}'")
    else:
        _refuse_second_page(bed, "task.commentitem.getlist", f"'0': '{target}', '1': {{'ID': 'asc'}}, '2': {{'>ID'")
    bed.run(max_posts=500)
    assert bed.portal.faults.refused >= 1
    assert len(_comment_mirrors(bed, project)) <= PAGE + 1  # nothing past the failed page
    bed.portal.faults.clear()
    bed.sync(max_posts=500)
    mirrors = _comment_mirrors(bed, project)
    assert sorted(int(m.rsplit(":", 1)[1]) for m in mirrors) == sorted(ids)


def test_a_failed_chat_id_lookup_is_not_taken_for_a_classic_task(bed):
    """Task lists leave chatId out (the default reading): a new-card task's world is asked of tasks.task.get.
    That answer failing says nothing about the task; read as classic, its chat would never be read."""
    project = bed.project("Lookup", new_card=True)
    target = project.tasks[0]
    bed.sync()
    message = bed.portal.add_comment(target, bed.anna, "said in the chat")
    bed.portal.faults.refuse("tasks.task.get", f"'taskId': '{target}', 'select': ['ID', 'CHAT_ID']",
                             message="lookup failed")
    [report] = bed.sync()
    assert bed.portal.faults.refused >= 1
    assert any("could not tell whether its comments are in a chat" in w for w in report.warnings)
    bed.portal.faults.clear()
    bed.sync()
    bed.sync()
    assert _comment_mirrors(bed, project) == [f"b24m:message:{target}:{message}"]


def test_an_empty_member_list_is_a_failed_read_not_nobody(bed):
    """A group always has its owner: an empty answer judged as "nobody is a member" would keep every
    comment out and let the cursors pass them for good."""
    project = bed.project("Members")
    target = project.tasks[0]
    bed.sync()
    comment = bed.portal.add_comment(target, bed.anna, "written by a member")
    group = bed.portal.groups[project.gid]
    members = dict(group.members)
    group.members.clear()
    [report] = bed.run()
    assert not report.ok and "empty member list" in report.error
    group.members.update(members)
    bed.sync()
    bed.sync()
    assert _comment_mirrors(bed, project) == [f"b24m:comment:{target}:{comment}"]


def test_an_edit_by_an_author_who_left_the_group_withdraws_the_mirror(bed):
    """The edit is judged like a first post, with the group's members: the old words must go, the new
    ones must not appear."""
    bed.sweep_every = 1  # an edit moves no date: the sweep finds it
    project = bed.project("Edits", new_card=True)
    target = project.tasks[0]
    boris = bed.portal.add_user("Boris", "Ivanov")
    bed.portal.add_member(project.gid, boris)
    bed.sync(on_edit="update")
    message_id = bed.portal.add_comment(target, boris, "the first words")
    bed.sync(on_edit="update")
    assert _comment_mirrors(bed, project) == [f"b24m:message:{target}:{message_id}"]
    bed.portal.remove_member(project.gid, boris)
    bed.portal.edit_message(bed.portal.find_message(message_id), "words written after leaving")
    bed.sync(on_edit="update")
    [mirror] = [c["text"] for c in bed.portal.comments(project.master) if f":{message_id}" in c["text"]]
    assert "after leaving" not in mirror and "the first words" not in mirror
    assert "Withdrawn at the source" in mirror
