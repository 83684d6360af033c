"""Task, history and comment rules as the tasks module's source has them (task.php listAction, tasklog.php,
history.php, integration/forum/task/comment.php), and the doc-sample fields that come only when asked for."""
from __future__ import annotations


def _history(api, tid, **extra):
    body = api.call("tasks.task.history.list", {"taskId": tid, "order": {"ID": "asc"}, **extra})[1]
    return body["result"]["list"]


def _task(api, tid, **extra):
    return api.call("tasks.task.get", {"taskId": tid, **extra})[1]["result"]["task"]


def test_an_unreadable_date_filter_is_1970_not_an_error(portal, api):
    portal.advance(3600)
    since = portal.iso(portal.now_ts())
    portal.set_status(portal.classic, 3, by=portal.bob)
    good = api.call("tasks.task.list", {"filter": {">=CHANGED_DATE": since}, "select": ["ID"]})[1]
    assert [t["id"] for t in good["result"]["tasks"]] == [str(portal.classic)]
    status, bad = api.call("tasks.task.list", {"filter": {">=CHANGED_DATE": "next tuesday-ish"}, "select": ["ID"]})
    assert status == 200 and len(bad["result"]["tasks"]) == 3
    status, none = api.call("tasks.task.list", {"filter": {"<CHANGED_DATE": "garbage"}, "select": ["ID"]})
    assert status == 200 and none["result"]["tasks"] == []  # nothing changed before 1970


def test_history_filter_keys(portal, api):
    portal.set_status(portal.classic, 3, by=portal.bob)
    portal.set_field(portal.classic, "TITLE", "Renamed", by=portal.admin)
    by_bob = _history(api, portal.classic, filter={"USER_ID": portal.bob})
    assert {h["field"] for h in by_bob} == {"STATUS", "REAL_STATUS"}
    assert [h["field"] for h in _history(api, portal.classic, filter={"FIELD": ["TITLE"]})] == ["TITLE"]
    assert _history(api, portal.classic, filter={"TASK_ID": portal.master}) == []
    later = portal.iso(portal.now_ts() + 60)
    assert _history(api, portal.classic, filter={">CREATED_DATE": later}) == []


def test_history_values_sorted_joined_and_empty_old_is_false(portal, api):
    portal.update_fields(portal.master, {"AUDITORS": [portal.ext, portal.bob]}, portal.admin)
    portal.set_deadline(portal.master, "2026-06-19T18:00:00+03:00", by=portal.admin)
    rows = {h["field"]: h["value"] for h in _history(api, portal.master)}
    assert rows["AUDITORS"] == {"from": False, "to": f"{portal.bob},{portal.ext}"}
    assert rows["DEADLINE"]["from"] is False
    assert rows["NEW"] == {"from": None, "to": None}


def test_history_rows_for_comments_files_and_stage(portal, api):
    cid = portal.add_comment(portal.classic, portal.admin, "first")
    sid = portal.add_system_comment(portal.classic, "Deadline changed", by=portal.admin)
    portal.edit_comment(portal.classic, cid, "first, edited")
    portal.delete_comment(portal.classic, cid)
    files = portal.attach_files(portal.classic, ["a.txt", "b.txt"], by=portal.admin)
    portal.detach_files(portal.classic, files[:1], by=portal.admin)
    portal.set_stage(portal.classic, 7, by=portal.admin)
    rows = [(h["field"], h["value"]["to"]) for h in _history(api, portal.classic) if h["field"] != "NEW"]
    assert rows == [("COMMENT", str(cid)), ("COMMENT", str(sid)), ("COMMENT_EDIT", str(cid)),
                    ("COMMENT_DEL", str(cid)), ("NEW_FILES", ",".join(map(str, files))),
                    ("DELETED_FILES", str(files[0])), ("STAGE", "7")]


def test_a_comment_by_a_non_participant_makes_them_an_auditor(portal, api):
    before = _task(api, portal.classic)
    portal.advance(60)
    portal.add_comment(portal.classic, portal.bob, "I am the responsible one")  # a participant: activity only
    middle = _task(api, portal.classic)
    assert middle["changedDate"] == before["changedDate"] and middle["auditors"] == []
    portal.advance(60)
    portal.add_comment(portal.classic, portal.ext, "Hello from outside")
    after = _task(api, portal.classic)
    assert after["auditors"] == [str(portal.ext)] and after["changedDate"] != before["changedDate"]
    rows = [h for h in _history(api, portal.classic) if h["field"] == "AUDITORS"]
    assert [(r["user"]["id"], r["value"]["to"]) for r in rows] == [(portal.ext, str(portal.ext))]


def test_mentions_of_non_participants_make_them_auditors(portal, api):
    portal.add_comment(portal.classic, portal.admin,
                       f"[USER={portal.eve}]Eve[/USER], see this; [USER={portal.bob}]Bob[/USER] already can")
    assert portal.tasks[portal.classic].auditors == [portal.eve]


def test_commentitem_getlist_every_row_no_topic_start_no_order(portal, api):
    ids = [portal.add_comment(portal.classic, portal.admin, f"c{i}") for i in range(60)]
    rows = api.call("task.commentitem.getlist", [portal.classic])[1]["result"]
    got = [int(r["ID"]) for r in rows]
    assert sorted(got) == ids  # all 60 (no page of 50), and never the topic's first message
    assert got != ids and got != ids[::-1]  # no ORDER BY: neither way round
    asc = api.call("task.commentitem.getlist", [portal.classic, {"ID": "asc"}])[1]["result"]
    assert [int(r["ID"]) for r in asc] == ids
    assert _task(api, portal.classic)["commentsCount"] == "60"


def test_fields_that_come_only_when_asked_for(portal, api):
    plain = api.call("tasks.task.list", {"filter": {"ID": portal.classic}})[1]["result"]["tasks"][0]
    assert {"descriptionInBbcode", "lengthDeadline"} <= set(plain)
    gated = {"taskRequireResult", "taskHasOpenResult", "taskHasResult", "timeElapsed",
             "timerIsRunningForCurrentUser", "parsedDescription", "counter", "action"}
    assert not gated & set(plain)
    full = api.call("tasks.task.list", {"filter": {"ID": portal.classic}, "select": ["ID", "COUNTERS"],
                                        "params": {"WITH_RESULT_INFO": True, "WITH_TIMER_INFO": "Y",
                                                   "WITH_PARSED_DESCRIPTION": "Y"}})[1]["result"]["tasks"][0]
    assert gated - {"action"} <= set(full)
    got = _task(api, portal.classic, select=["ID", "DESCRIPTION"])
    assert {"action", "descriptionInBbcode", "description"} <= set(got) and "counter" not in got
