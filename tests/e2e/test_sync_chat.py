"""End-to-end on the new task card: comments live in task chats (im.*), read and written."""
from collections import Counter

import pytest

from tests.e2e.conftest import build_world

pytestmark = pytest.mark.e2e


def test_new_card_group_mirrors_chat_messages_once_into_the_master_chat(chat_world):
    w, p = chat_world, chat_world.portal
    w.run("sync")
    m1 = p.add_comment(w.design, w.anna, "Чат: чертежи готовы")
    m2 = p.add_comment(w.drawings, w.boris, "Chat: rebar checked 👍")
    p.add_system_comment(w.design, "Task deadline changed")
    p.set_status(w.drawings, 5, by=w.boris)  # a history row and a system chat message: one mirror
    p.add_comment(w.deep, w.anna, "too deep")
    p.add_comment(w.design, w.oscar, "not a member")
    for _ in range(3):
        w.run("sync")
    found = Counter(w.mirrors())
    assert found[f"b24m:message:{w.design}:{m1}"] == 1
    assert found[f"b24m:message:{w.drawings}:{m2}"] == 1
    events = [m for m in found if m.startswith(f"b24m:event:{w.drawings}:")]
    assert len(events) == 1
    assert len(found) == 3 and set(found.values()) == {1}
    master_chat = p.task(w.master)["chat_id"]
    assert master_chat and all(c["author_id"] in (0, w.me, w.anna) for c in p.comments(w.master))
    texts = "\n".join(w.mirror_texts())
    assert "[QUOTE]" not in texts  # chat BBCode, not forum BBCode
    assert "too deep" not in texts and "not a member" not in texts and "Task deadline changed" not in texts


def test_mixed_group_classic_master(tmp_path):
    w = build_world(tmp_path, new_card=True, master_new_card=False)
    try:
        p = w.portal
        classic = p.add_task("Classic subtask", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                             parent_id=w.master, new_card=False)
        w.run("sync")
        m1 = p.add_comment(w.design, w.anna, "from a chat")
        c1 = p.add_comment(classic, w.boris, "from a forum")
        w.run("sync")
        w.run("sync")
        assert Counter(w.mirrors()) == Counter({f"b24m:message:{w.design}:{m1}": 1, f"b24m:comment:{classic}:{c1}": 1})
        assert p.task(w.master)["chat_id"] in (None, 0)
    finally:
        w.server.shutdown()


def _chat_task_without_me(w):
    return w.portal.add_task("Private chat", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                             parent_id=w.master, new_card=True, auditors=())


def test_unreadable_chat_is_reported_with_its_fix_and_the_rest_goes_on(chat_world):
    w, p = chat_world, chat_world.portal
    private = _chat_task_without_me(w)
    w.run("sync")
    p.add_comment(private, w.anna, "cannot be read by the mirror user")
    ok = p.add_comment(w.design, w.anna, "readable")
    result = w.run("sync")
    assert f"add user {w.me} as an observer of task {private}, or set auto_observe: true" in result.stderr
    assert w.mirrors() == [f"b24m:message:{w.design}:{ok}"]
    assert w.me not in p.task(private)["auditors"]


def test_auto_observe_joins_the_chat_and_mirrors_it(chat_world):
    w, p = chat_world, chat_world.portal
    private = _chat_task_without_me(w)
    p.add_auditor(private, w.eve)
    w.write_config(auto_observe=True)
    w.run("sync")
    before = p.add_comment(private, w.anna, "written before the mirror user joined")
    w.run("sync")  # joins the chat
    after = p.add_comment(private, w.anna, "written after it joined")
    w.run("sync")
    w.run("sync")
    assert sorted(p.task(private)["auditors"]) == sorted([w.eve, w.me])  # appended, not replaced
    expected = {f"b24m:message:{private}:{after}": 1}
    if p.readings["chat_history_for_new_members"] == "visible":
        expected[f"b24m:message:{private}:{before}"] = 1  # chats that show new members their history
    assert Counter(w.mirrors()) == Counter(expected)


@pytest.mark.parametrize("on_edit", ["ignore", "update"])
def test_edited_source_message_per_policy(chat_world, on_edit):
    w, p = chat_world, chat_world.portal
    w.write_config(on_edit=on_edit)
    w.run("sync")
    mid = p.add_comment(w.design, w.anna, "first wording")
    w.run("sync")
    p.edit_comment(w.design, mid, "second wording")
    p.add_comment(w.design, w.anna, "a later message makes the task active again")
    w.run("sync")
    texts = "\n".join(w.mirror_texts())
    assert Counter(w.mirrors())[f"b24m:message:{w.design}:{mid}"] == 1
    if on_edit == "update":
        assert "second wording" in texts and "first wording" not in texts
    else:
        assert "first wording" in texts and "second wording" not in texts


@pytest.mark.parametrize("on_delete", ["ignore", "mark"])
def test_deleted_source_message_per_policy(chat_world, on_delete):
    w, p = chat_world, chat_world.portal
    w.write_config(on_delete=on_delete)
    w.run("sync")
    mid = p.add_comment(w.design, w.anna, "soon to be deleted")
    w.run("sync")
    p.delete_comment(w.design, mid)
    p.add_comment(w.design, w.anna, "a later message")
    w.run("sync")
    texts = "\n".join(w.mirror_texts())
    assert Counter(w.mirrors())[f"b24m:message:{w.design}:{mid}"] == 1
    if on_delete == "mark":
        assert "soon to be deleted" not in texts
    else:
        assert "soon to be deleted" in texts


def test_webhook_without_im_scope_fails_clearly_only_when_chats_are_met(tmp_path):
    w = build_world(tmp_path, new_card=False)
    try:
        p = w.portal
        w.secret = p.add_webhook(w.me, scopes=("task", "sonet_group", "user"))
        w.write_config()
        w.run("sync")
        c = p.add_comment(w.design, w.anna, "classic works without im")
        w.run("sync")
        assert w.mirrors() == [f"b24m:comment:{w.design}:{c}"]
        chat = p.add_task("Chat task", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                          parent_id=w.master, new_card=True, auditors=(w.me,))
        p.add_comment(chat, w.anna, "needs im")
        result = w.run("sync", check=False)
        assert result.returncode == 1
        assert "`im` scope" in result.stderr
    finally:
        w.server.shutdown()


def test_forced_chat_world(chat_world):
    w, p = chat_world, chat_world.portal
    w.write_config(comments="chat")
    w.run("sync")
    mid = p.add_comment(w.design, w.anna, "forced chat reading")
    w.run("sync")
    assert w.mirrors() == [f"b24m:message:{w.design}:{mid}"]
