"""The core scenarios under every reading of the platform the docs leave open.

Each portal here takes the fake portal's defaults (the harder reading of every point) or one
alternative; b24mirror must be exactly-once under each, in both comment worlds.
"""
from __future__ import annotations

from collections import Counter

import pytest

from b24mirror.fakeportal.readings import alternatives

from .conftest import build_world

pytestmark = pytest.mark.e2e

READING_CASES = [pytest.param(None, id="defaults")] + [
    pytest.param({name: value}, id=f"{name}={value}") for name, value in alternatives()]


@pytest.fixture(params=READING_CASES)
def readings(request):
    return request.param


@pytest.fixture(params=["classic", "chat"])
def any_world(request, tmp_path, readings):
    w = build_world(tmp_path, new_card=request.param == "chat", readings=readings)
    yield w
    w.server.shutdown()


def test_eligible_items_once_and_ineligible_ones_absent(any_world):
    w, p = any_world, any_world.portal
    w.write_config(rules={"hide": ["^#internal"]})
    w.run("sync")
    good = [p.add_comment(w.design, w.anna, "the design is agreed"),
            p.add_comment(w.drawings, w.boris, "drawings are signed")]
    p.set_status(w.design, 5, by=w.anna)
    p.set_deadline(w.drawings, "2027-03-01T18:00:00+03:00", by=w.anna)
    p.add_comment(w.design, w.oscar, "LEAK: not a member")
    p.add_comment(w.deep, w.anna, "LEAK: too deep")
    p.add_comment(w.loose, w.anna, "LEAK: outside the subtree")
    p.add_comment(w.foreign, w.anna, "LEAK: another group")
    p.add_comment(w.design, w.anna, "#internal LEAK: hidden by a rule")
    for _ in range(3):
        w.run("sync")
    found = Counter(w.mirrors())
    assert set(found.values()) == {1}, found
    comments = {m for m in found if m.startswith(("b24m:comment:", "b24m:message:"))}
    assert comments == {w.talk(w.design, good[0]), w.talk(w.drawings, good[1])}
    assert sum(m.startswith(f"b24m:event:{w.design}:") for m in found) == 1  # the status change
    assert sum(m.startswith(f"b24m:event:{w.drawings}:") for m in found) == 1  # the deadline move
    assert "LEAK" not in "\n".join(w.mirror_texts())


def test_a_lost_state_costs_no_duplicate_and_no_loss(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    first = p.add_comment(w.design, w.anna, "before the state was lost")
    w.run("sync")
    w.state_path.unlink()
    second = p.add_comment(w.drawings, w.boris, "while it was lost")
    w.run("sync")
    w.run("sync")
    assert Counter(w.mirrors()) == Counter({w.talk(w.design, first): 1, w.talk(w.drawings, second): 1})


def test_a_post_whose_answer_is_lost_is_not_posted_twice(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    ids = [p.add_comment(w.design, w.anna, f"posted once {i}") for i in range(3)]
    post = "im.message.add" if p.tasks[w.master].chat_id else "task.commentitem.add"
    p.faults.add("lost_response", method="batch", count=1, contains=post)
    w.run("sync", check=False)
    assert p.stats.faults_by_kind["lost_response"] == 1
    w.run("sync")
    assert Counter(w.mirrors()) == Counter(w.talk(w.design, c) for c in ids)


@pytest.mark.parametrize("readings", [None, {"list_chat_id": "present"}], ids=["defaults", "list_chat_id=present"])
def test_a_chat_with_more_than_a_page_of_news_on_its_first_read(tmp_path, readings):
    """130 old messages the webhook user never read, then 70 new ones: the first read after the first
    sync must take the newest (a read without a cursor starts at the oldest unread instead)."""
    w = build_world(tmp_path, new_card=True, readings=readings)
    try:
        p = w.portal
        chat = p.chats[p.tasks[w.design].chat_id]
        for n in range(130):
            p.post_message(chat, w.anna, f"old {n}")
        w.write_config(max_posts=500)
        w.run("sync")
        new = [p.post_message(chat, w.boris, f"new {n}").id for n in range(70)]
        w.run("sync")
        w.run("sync")
        assert Counter(w.mirrors()) == Counter(f"b24m:message:{w.design}:{m}" for m in new)
    finally:
        w.server.shutdown()


def _busy_chat_run(tmp_path, readings):
    """120 new-card subtasks, each with news after the first sync: (the world, the tasks, requests of the run)."""
    tmp_path.mkdir()
    w = build_world(tmp_path, new_card=True, readings=readings)
    p = w.portal
    tasks = [p.add_task(f"Step {n}", created_by=w.anna, group_id=w.group, parent_id=w.master, new_card=True,
                        auditors=(w.me,)) for n in range(120)]
    w.run("sync")
    for task in tasks:
        p.add_comment(task, w.anna, f"news on {task}")
    p.request_log.clear()
    before = p.stats.requests
    w.run("sync", "--max-posts", "500")
    return w, tasks, p.stats.requests - before


def _lookups(portal) -> list:
    return [e for e in portal.request_log if e.method == "tasks.task.get" and "TITLE" not in str(e.params)]


def test_chats_are_looked_up_once_per_task_fifty_to_a_request(tmp_path):
    """Lists without chatId (the default reading): each task's chat is asked of tasks.task.get once, fifty
    to a request, and remembered."""
    listed, _, cheap = _busy_chat_run(tmp_path / "listed", {"list_chat_id": "present"})
    w, tasks, requests = _busy_chat_run(tmp_path / "absent", None)
    try:
        p = w.portal
        assert not _lookups(listed.portal)
        assert sorted(int(e.params["taskId"]) for e in _lookups(p)) == sorted(tasks)
        assert requests - cheap <= -(-len(tasks) // 50)  # one request per 50 tasks at most
        assert len(w.mirrors()) == len(listed.mirrors()) == 120
        p.request_log.clear()
        for task in tasks[:10]:
            p.add_comment(task, w.boris, f"more on {task}")
        w.run("sync")
        assert not _lookups(p)  # remembered in the state
        assert len(w.mirrors()) == 130
    finally:
        w.server.shutdown()
        listed.server.shutdown()


def test_a_classic_task_is_looked_up_when_its_activity_moves(world):
    """A list without chatId cannot tell a classic task either, nor say when its group switched to the new
    card: asked when its activity moved (a chat message moves it), never when only other tasks changed."""
    w, p = world, world.portal
    w.run("sync")
    for n in range(3):
        p.add_comment(w.design, w.anna, f"news {n}")
        p.request_log.clear()
        w.run("sync")
        assert [int(e.params["taskId"]) for e in _lookups(p)] == [w.design]
    p.add_comment(w.drawings, w.anna, "news elsewhere")
    p.request_log.clear()
    w.run("sync")
    assert [int(e.params["taskId"]) for e in _lookups(p)] == [w.drawings]
    assert len(w.mirrors()) == 4
