"""The readings the emulator takes where the docs are silent, checked over HTTP, plus the demo and the CLI."""
from __future__ import annotations

import subprocess
import sys
import urllib.request

from b24mirror.fakeportal import FakePortal
from b24mirror.fakeportal.demo import build_demo_portal

from .conftest import Http


def _task(api, tid):
    return api.call("tasks.task.get", {"taskId": tid})[1]["result"]["task"]


def test_comment_moves_activity_not_changed_date(portal, api):
    before = _task(api, portal.classic)
    portal.advance(120)
    cid = api.call("task.commentitem.add", [portal.classic, {"POST_MESSAGE": "hello"}])[1]["result"]
    after = _task(api, portal.classic)
    assert after["changedDate"] == before["changedDate"] and after["activityDate"] > before["activityDate"]
    assert after["commentsCount"] == "1"
    rows = api.call("tasks.task.history.list", {"taskId": portal.classic, "filter": {"FIELD": "COMMENT"}})[1]
    assert rows["result"]["list"][0]["value"] == {"from": None, "to": str(cid)}


def test_field_change_moves_both_and_subtask_moves_nothing(portal, api):
    before = _task(api, portal.master)
    portal.advance(60)
    portal.add_task("New child", created_by=portal.bob, group_id=portal.gid, parent_id=portal.master)
    assert _task(api, portal.master) == before
    portal.advance(60)
    api.call("tasks.task.update", {"taskId": portal.master, "fields": {"STATUS": 5}})
    after = _task(api, portal.master)
    assert after["changedDate"] > before["changedDate"] and after["activityDate"] == after["changedDate"]
    assert after["status"] == "5" and after["closedBy"] == str(portal.admin)
    desc = api.call("tasks.task.history.list", {"taskId": portal.master, "order": {"createdDate": "desc"}})[1]
    hist = desc["result"]["list"]
    assert [h["field"] for h in hist] == ["REAL_STATUS", "STATUS", "NEW"]
    assert hist[1]["value"] == {"from": "2", "to": "5"}


def test_deadline_history_values_are_strings_of_two_kinds(portal, api):
    for tid in (portal.master, portal.classic):  # ids 101 (odd: ISO) and 102 (even: unix time)
        portal.set_deadline(tid, "2026-06-19T18:00:00+03:00", by=portal.admin)
        row = api.call("tasks.task.history.list", {"taskId": tid, "filter": {"FIELD": "DEADLINE"}})[1]
        value = row["result"]["list"][0]["value"]["to"]
        assert value == ("1781881200" if tid % 2 == 0 else "2026-06-19T18:00:00+03:00")


def test_classic_service_comments_are_plain_rows(portal, api):
    portal.add_comment(portal.classic, portal.bob, "human")
    portal.add_system_comment(portal.classic, "Deadline changed", by=portal.admin)
    rows = api.call("task.commentitem.getlist", [portal.classic, {"ID": "asc"}])[1]["result"]
    assert [r["POST_MESSAGE"] for r in rows] == ["human", "Deadline changed"]
    assert set(rows[0]) == set(rows[1]) and rows[1]["AUTHOR_ID"] == str(portal.admin)
    task = _task(api, portal.classic)
    assert (task["commentsCount"], task["serviceCommentsCount"]) == ("2", "1")


def test_new_card_comments_live_in_the_chat(portal, api, bob_api):
    chat = portal.tasks[portal.card].chat_id
    assert _task(bob_api, portal.card)["chatId"] == chat and _task(api, portal.classic)["chatId"] is None
    assert bob_api.call("task.commentitem.getlist", [portal.card])[1]["result"] == []
    mid = bob_api.call("task.commentitem.add", [portal.card, {"POST_MESSAGE": "via old method"}])[1]["result"]
    before = _task(bob_api, portal.card)
    portal.advance(30)
    mid2 = bob_api.call("im.message.add", {"DIALOG_ID": f"chat{chat}", "MESSAGE": "second"})[1]["result"]
    after = _task(bob_api, portal.card)
    assert after["commentsCount"] == "0" and after["changedDate"] == before["changedDate"]
    assert after["activityDate"] > before["activityDate"]
    assert bob_api.call("im.message.update", {"MESSAGE_ID": mid, "MESSAGE": "edited"})[1]["result"] is True
    assert bob_api.call("im.message.delete", {"MESSAGE_ID": mid2})[1]["result"] is True
    msgs = bob_api.call("im.dialog.messages.get", {"DIALOG_ID": f"chat{chat}"})[1]["result"]["messages"]
    assert [m["id"] for m in msgs] == sorted((m["id"] for m in msgs), reverse=True)  # newest first
    by_id = {m["id"]: m for m in msgs}
    assert by_id[mid]["params"]["IS_EDITED"] == "Y" and by_id[mid]["text"] == "edited"
    assert by_id[mid2]["params"]["IS_DELETED"] == "Y" and by_id[mid2]["text"] == ""
    system = [m for m in msgs if m["author_id"] == 0]
    assert system and system[-1]["params"]["CODE"] == ["TASK_CREATED"]
    judge = portal.comments(portal.card)
    assert [c["id"] for c in judge] == sorted(c["id"] for c in judge) and judge[0]["system"]
    assert any(c["edited"] for c in judge) and any(c["deleted"] for c in judge)
    status, body = bob_api.call("task.commentitem.update", [portal.card, mid, {"POST_MESSAGE": "x"}])
    assert status == 400 and body["error"] == "ERROR_CORE"
    status, body = api.call("im.message.update", {"MESSAGE_ID": mid, "MESSAGE": "not mine"})
    assert status == 400


def test_status_change_on_new_card_writes_system_message(portal, bob_api):
    portal.set_status(portal.card, 3, by=portal.bob)
    portal.set_deadline(portal.card, "2026-07-01T12:00:00+03:00", by=portal.bob)
    codes = [c for m in portal.chats[portal.tasks[portal.card].chat_id].messages if m.author_id == 0
             for c in m.params["CODE"]]
    assert codes[-2:] == ["TASK_STATUS_CHANGED", "TASK_DEADLINE_CHANGED"]


def test_dialog_cursor_paging(portal, bob_api):
    chat = f"chat{portal.tasks[portal.card].chat_id}"
    ids = [portal.add_comment(portal.card, portal.bob, f"m{i}") for i in range(60)]
    body = bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat, "FIRST_ID": ids[4], "LIMIT": 10})[1]
    assert [m["id"] for m in body["result"]["messages"]] == ids[5:15]  # oldest first
    body = bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat, "LAST_ID": ids[30], "LIMIT": 500})[1]
    got = [m["id"] for m in body["result"]["messages"]]
    assert len(got) == 31 and got[0] == ids[29]  # 30 older messages and the system one, newest first
    assert len(bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat, "LIMIT": 99})[1]["result"]["messages"]) == 50
    assert len(bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat})[1]["result"]["messages"]) == 20
    status, body = bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat, "FIRST_ID": "abc"})
    assert (status, body["error"]) == (400, "FIRST_ID_STRING")
    users = bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat})[1]["result"]["users"]
    assert users[0]["id"] == portal.bob and isinstance(users[0]["extranet"], bool)


def test_members_and_inactive_users(portal, api):
    portal.set_user_active(portal.ext, False)
    rows = api.call("sonet_group.user.get", {"ID": portal.gid})[1]["result"]
    assert {r["USER_ID"] for r in rows} == {str(portal.admin), str(portal.bob)}
    assert {"USER_ID": str(portal.admin), "ROLE": "A"} in rows
    users = api.call("user.get", {"FILTER": {"ID": [portal.ext, portal.bob]}})[1]["result"]
    assert [(u["ID"], u["ACTIVE"]) for u in users] == [(str(portal.bob), True), (str(portal.ext), False)]
    ext = api.call("user.get", {"FILTER": {"USER_TYPE": "extranet"}})[1]["result"]
    assert [u["ID"] for u in ext] == [str(portal.ext)] and ext[0]["UF_DEPARTMENT"] == []


def test_list_filters_select_and_order(portal, api):
    q = {"filter": {"PARENT_ID": portal.master}, "select": ["ID", "TITLE", "PARENT_ID", "CHANGED_DATE"],
         "order": {"ID": "desc"}}
    tasks = api.call("tasks.task.list", q)[1]["result"]["tasks"]
    assert [t["id"] for t in tasks] == [str(portal.card), str(portal.classic)]
    assert {"id", "title", "parentId", "changedDate"} <= set(tasks[0]) and "description" not in tasks[0]
    got = api.call("tasks.task.list", {"filter": {"ID": [portal.master, portal.card]}, "order": {"ID": "asc"}})
    assert [t["id"] for t in got[1]["result"]["tasks"]] == [str(portal.master), str(portal.card)]
    got = api.call("tasks.task.list", {"filter": {"!ID": portal.master, "GROUP_ID": portal.gid}})
    assert str(portal.master) not in [t["id"] for t in got[1]["result"]["tasks"]]
    portal.advance(100)
    since = portal.iso(portal.now_ts())
    portal.add_comment(portal.classic, portal.bob, "c")  # activity only
    portal.set_field(portal.card, "TITLE", "Renamed", by=portal.bob)
    got = api.call("tasks.task.list", {"filter": {">=CHANGED_DATE": since}, "select": ["ID"]})[1]
    assert [t["id"] for t in got["result"]["tasks"]] == [str(portal.card)]
    got = api.call("tasks.task.list", {"order": {"ACTIVITY_DATE": "desc"}, "select": ["ID"]})[1]
    assert [t["id"] for t in got["result"]["tasks"]][:2] == [str(portal.card), str(portal.classic)]
    query = f"filter[GROUP_ID]={portal.gid}&filter[%3EID]={portal.classic}&select[]=ID&select[]=TITLE"
    got = api.request("tasks.task.list", query=query)[1]["result"]["tasks"]
    assert got == [{"id": str(portal.card), "favorite": "N", "group": got[0]["group"], "title": "Renamed"}]


def test_positional_forms_of_comment_methods(portal, api):
    cid = api.request("task.commentitem.add", f"0={portal.classic}&1[POST_MESSAGE]=form", form=True)[1]["result"]
    got = api.request("task.commentitem.get", query=f"0={portal.classic}&1={cid}")[1]["result"]
    assert got["POST_MESSAGE"] == "form" and got["ID"] == str(cid)
    assert api.call("task.commentitem.get", {"TASKID": portal.classic, "ITEMID": cid})[1]["result"]["ID"] == str(cid)
    status, _ = api.call("task.commentitem.get", {"ITEMID": cid, "TASKID": portal.classic})  # wrong order
    assert status == 400
    assert api.call("task.commentitem.delete", [portal.classic, cid])[1]["result"] is True
    assert api.call("task.commentitem.getlist", [portal.classic])[1]["result"] == []


def test_checklist_results(portal, api):
    iid = api.call("task.checklistitem.add", [portal.master, {"TITLE": "Step"}])[1]["result"]
    assert isinstance(iid, int)
    assert api.call("task.checklistitem.update", [portal.master, iid, {"TITLE": "Step 1"}])[1]["result"] is None
    assert api.call("task.checklistitem.complete", [portal.master, iid])[1]["result"] is True
    assert api.call("task.checklistitem.complete", [portal.master, iid])[1]["result"] is True
    assert api.call("task.checklistitem.renew", [portal.master, 99999])[1]["result"] is False
    rows = api.call("task.checklistitem.getlist", [portal.master])[1]["result"]
    assert [r["TITLE"] for r in rows] == ["Step 1", "Checklist 1"] and rows[1]["PARENT_ID"] == 0
    assert rows[0]["IS_COMPLETE"] == "Y" and rows[0]["ATTACHMENTS"] == []
    assert api.call("task.checklistitem.delete", [portal.master, iid])[1]["result"] is True


def test_v3_chat_message_send(portal, server):
    v3 = Http(server.base_url + f"/rest/api/{portal.admin}/{portal.secret}/")
    status, body = v3.call("tasks.task.chat.message.send", {"fields": {"taskId": portal.card, "text": "v3 hi"}})
    assert (status, body["result"]) == (200, {"result": True})
    assert portal.comments(portal.card)[-1]["text"] == "v3 hi"
    status, body = v3.call("tasks.task.chat.message.send", {"fields": {"taskId": portal.card}})
    assert status == 400 and body["error"]["validation"][0]["field"] == "text"
    bob_v3 = Http(server.base_url + f"/rest/api/{portal.bob}/{portal.bob_secret}/")  # no 'tasks' scope
    assert bob_v3.call("tasks.task.chat.message.send", {"fields": {"taskId": portal.card, "text": "x"}})[0] == 403


def test_request_log_and_reset(portal, api):
    api.call("profile")
    api.call("batch", {"cmd": ["profile", "user.current"]})
    assert portal.stats.requests == 2 and portal.stats.commands["profile"] == 2
    assert [e.method for e in portal.request_log] == ["profile", "batch", "profile", "user.current"]
    assert portal.request_log[2].in_batch
    portal.reset_stats()
    assert portal.stats.requests == 0 and portal.request_log == []


def test_demo_portal_shape():
    p, info = build_demo_portal(3)
    q, info2 = build_demo_portal(3)
    assert info == info2 and sorted(p.tasks) == sorted(q.tasks)
    group = p.groups[info["group_id"]]
    assert 35 <= len(group.members) <= 45 and any(p.users[u].extranet for u in group.members)
    in_group = [t for t in p.tasks.values() if t.group_id == info["group_id"] and t.id != info["master_task_id"]]

    def depth(t):
        d = 0
        while t.parent_id:
            t, d = p.tasks[t.parent_id], d + 1
        return d
    depths = [depth(t) for t in in_group]
    assert len(in_group) >= 28 and depths.count(3) >= 1 and depths.count(1) >= 10
    assert any(t.new_card for t in in_group) and any(not t.new_card for t in in_group)
    assert any(i.task_id == info["master_task_id"] for i in p.checklist.values())
    texts = " ".join(c["text"] for t in in_group for c in p.comments(t.id))
    assert "а" in texts and "the" in texts
    assert info["second_group_id"] != info["group_id"]


def test_seed_file(tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text("""
users: [{key: anna, name: Anna, last_name: P, admin: true}, {key: bob, name: Bob, last_name: S}]
webhooks: [{user: anna, secret: s3cret}]
groups: [{key: g, name: G, owner: anna, members: [bob]}]
tasks:
  - {key: m, title: Master, created_by: anna, group: g, checklist: [One]}
  - {key: s, title: Sub, created_by: bob, group: g, parent: m, new_card: true, comments: [{author: bob, text: hi}]}
""", encoding="utf-8")
    p, info = FakePortal.from_file(str(seed))
    assert info["secret"] == "s3cret" and p.tasks[info["master_task_id"]].title == "Master"
    sub = [t for t in p.tasks.values() if t.parent_id == info["master_task_id"]][0]
    assert sub.new_card and p.comments(sub.id)[-1]["text"] == "hi"


def test_cli_prints_the_webhook_url_first():
    proc = subprocess.Popen([sys.executable, "-m", "b24mirror.fakeportal", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        with urllib.request.urlopen(url + "profile.json", timeout=10) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
