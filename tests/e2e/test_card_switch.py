"""The card switch: a group moves from the classic card to the new one while b24mirror runs. Old tasks get a
chat (lazily, opening with system notices), keep their forum comments, and talk on in the chat. Each case runs
the real command against the fake portal under every reading of how a switched task gets its chat, and judges
by reading the master: nothing lost, nothing twice, no system notice mirrored, new mirrors in the master's chat."""
import json
from collections import Counter

import pytest

from .conftest import build_world

pytestmark = pytest.mark.e2e

READINGS = [None, {"chat_for_switched_task": "on_open"}, {"list_chat_id": "present"}]
READING_IDS = ["defaults", "chat_for_switched_task=on_open", "list_chat_id=present"]
NOTICES = ("old format", "chat of the task was created")


@pytest.fixture(params=READINGS, ids=READING_IDS)
def switching(request, tmp_path):
    """The small project on the classic card, under one reading of the switch."""
    w = build_world(tmp_path, readings=request.param)
    # Forum comment ids above chat message ids: a forum cursor carried over to the chat would skip it.
    w.portal.raise_ids(comment=900_000)
    yield w
    w.server.shutdown()


def switch_with_news(w) -> dict:
    """Forum comments and an event before the switch, chat comments after it, two syncs on each side.
    Returns the comment markers expected once each, by what they say."""
    p = w.portal
    w.run("sync")
    before = p.add_comment(w.design, w.anna, "forum: before the switch")
    p.set_status(w.design, 3, by=w.boris)
    w.run("sync")
    late = p.add_comment(w.drawings, w.boris, "forum: just before the switch")
    p.switch_to_new_card(w.group)
    p.advance(5)
    after = p.add_comment(w.design, w.anna, "chat: after the switch")
    after_drawings = p.add_comment(w.drawings, w.anna, "chat: in drawings after the switch")
    w.run("sync")
    w.run("sync")
    return {"before": f"b24m:comment:{w.design}:{before}", "late": f"b24m:comment:{w.drawings}:{late}",
            "after": f"b24m:message:{w.design}:{after}",
            "after_drawings": f"b24m:message:{w.drawings}:{after_drawings}"}


def assert_exactly_once(w, expected: dict) -> Counter:
    found = Counter(w.mirrors())
    assert all(found[m] == 1 for m in expected.values()), (expected, w.mirror_texts())
    assert [m for m in found if m.startswith(f"b24m:event:{w.design}:")], w.mirror_texts()  # the status change
    assert all(n == 1 for n in found.values()), found
    assert not [t for t in w.mirror_texts() if any(n in t for n in NOTICES)], w.mirror_texts()
    return found


def worlds_of(w) -> dict[str, str]:
    """Marker -> the master's world it sits in (forum or chat)."""
    return {m: c["world"] for c in w.portal.comments(w.master) if c["author_id"] == w.me
            for m in w.mirrors_in(c["text"])}


@pytest.mark.parametrize("master_card", ["classic", "born on the new card"])
def test_comments_on_both_sides_of_the_switch_are_mirrored_once_each(tmp_path, master_card):
    for n, readings in enumerate(READINGS):
        (tmp_path / str(n)).mkdir()
        w = build_world(tmp_path / str(n), readings=readings, master_new_card=master_card != "classic")
        w.portal.raise_ids(comment=900_000)
        try:
            expected = switch_with_news(w)
            assert_exactly_once(w, expected)
            where = worlds_of(w)
            # Mirrors posted after the switch go where the master's readers now read: its chat.
            assert where[expected["after"]] == where[expected["after_drawings"]] == "chat", (readings, where)
            if master_card == "classic":
                assert where[expected["before"]] == "forum"  # what was posted before stays where it was
        finally:
            w.server.shutdown()


def test_after_the_switch_a_lost_state_posts_nothing_twice(switching):
    w, p = switching, switching.portal
    expected = switch_with_news(w)
    w.state_path.unlink()
    expected["lost"] = f"b24m:message:{w.design}:{p.add_comment(w.design, w.boris, 'chat: while the state was lost')}"
    w.run("sync")
    w.run("sync")
    assert_exactly_once(w, expected)


def test_a_lost_answer_on_a_post_after_the_switch_is_settled_without_a_duplicate(switching):
    w, p = switching, switching.portal
    w.run("sync")
    p.add_comment(w.design, w.anna, "forum: before the switch")
    p.set_status(w.design, 3, by=w.boris)
    w.run("sync")
    p.add_comment(w.drawings, w.boris, "forum: read back with the mirrors before it")
    w.run("sync")  # its read-back moves the master's cursor past the first mirrors, in the forum's ids
    p.switch_to_new_card(w.group)
    p.advance(5)
    ids = [p.add_comment(w.design, w.anna, f"chat: posted once {i}") for i in range(3)]
    # The master's chat comes with the tool's first tasks.task.get; under on_open, with the first post, which
    # goes through task.commentitem.add to a master still known as classic and lands in that new chat.
    post = "task.commentitem.add" if p.reading("chat_for_switched_task") == "on_open" else "im.message.add"
    p.faults.add("lost_response", method="batch", count=1, contains=post)
    w.run("sync")  # settled in this very run, by reading the master back where the posts landed
    assert p.stats.faults_by_kind["lost_response"] == 1
    assert Counter(w.mirrors())[f"b24m:message:{w.design}:{ids[0]}"] == 1, w.mirror_texts()
    w.run("sync")
    found = Counter(w.mirrors())
    assert all(found[f"b24m:message:{w.design}:{i}"] == 1 for i in ids), w.mirror_texts()
    assert all(n == 1 for n in found.values()), found


def test_audit_and_repair_read_both_worlds_after_the_switch(switching):
    w, p = switching, switching.portal
    expected = switch_with_news(w)
    audit = w.run("audit", "--json", check=False)
    assert audit.returncode == 0, audit.stdout
    chat_mirror = next(c for c in p.comments(w.master) if c["author_id"] == w.me and c["world"] == "chat"
                       and expected["after"] in c["text"])
    p.delete_comment(w.master, chat_mirror["id"])
    report = json.loads(w.run("repair", "--json", check=False).stdout)["groups"][0]
    assert [(a["action"], a["marker"]) for a in report["actions"]] == [("post", expected["after"])], report
    assert_exactly_once(w, expected)
    audit = w.run("audit", check=False)
    assert audit.returncode == 0, audit.stdout
    w.state_path.unlink()  # audit without a state: the baseline comes from the markers in both worlds
    audit = w.run("audit", check=False)
    assert audit.returncode == 0, audit.stdout


def test_an_edit_never_points_a_chat_method_at_a_mirror_left_in_the_forum(tmp_path):
    """Subtasks on the new card, the master classic until its group switches: the mirror of a chat message sits
    in the master's forum. An edit of that message after the switch leaves the mirror as it is: no chat method
    is given a forum comment's id (on a real portal the id of some other message)."""
    w = build_world(tmp_path, new_card=True, master_new_card=False)
    try:
        p = w.portal
        w.write_config(on_edit="update")
        w.run("sync")
        chat = p.chats[p.tasks[w.design].chat_id]
        said = p.post_message(chat, w.anna, "said in the chat").id
        w.run("sync")
        [forum_mirror] = [c["id"] for c in p.comments(w.master) if c["author_id"] == w.me and w.mirrors_in(c["text"])]
        p.switch_to_new_card(w.group)
        p.open_card(p.tasks[w.master])  # someone opens the master: its chat (under on_get, the sync's read would)
        w.run("sync")
        p.edit_message(p.find_message(said), "said in the chat, edited")
        later = p.post_message(chat, w.anna, "a later message makes the task active again").id
        p.request_log.clear()
        result = w.run("sync", check=False)
        chat_writes = [e for e in p.request_log if e.method in ("im.message.update", "im.message.delete")]
        assert not [e for e in chat_writes if str(forum_mirror) in repr(e.params)], chat_writes
        assert f"is in the forum of master {w.master}, which moved to the new card" in result.stdout + result.stderr
        assert Counter(w.mirrors()) == Counter({f"b24m:message:{w.design}:{said}": 1,
                                                f"b24m:message:{w.design}:{later}": 1})
    finally:
        w.server.shutdown()


def test_audit_finds_the_chat_of_a_task_the_sync_knew_as_classic(switching):
    w, p = switching, switching.portal
    w.run("sync")
    p.add_comment(w.design, w.anna, "forum: before the switch")
    w.run("sync")
    p.switch_to_new_card(w.group)
    said = p.add_comment(w.design, w.anna, "chat: not synced yet")
    audit = w.run("audit", "--json", check=False)
    group = json.loads(audit.stdout)["groups"][0]
    # Read in the chat: found, and newer than the last sync (information, not a finding).
    assert group["findings"] == [] and group["newer_than_last_sync"] == 1, group
    w.state_path.unlink()  # no state, no last sync: the same item is missing
    findings = json.loads(w.run("audit", "--json", check=False).stdout)["groups"][0]["findings"]
    assert [(f["kind"], f["marker"]) for f in findings] == [("missing", f"b24m:message:{w.design}:{said}")], findings
