"""Paging (next/total, start rounding, start=-1) and batch (halt, references, limits, encoding)."""
from __future__ import annotations

import urllib.parse

from b24mirror.fakeportal import FakePortal

from .conftest import Http


def _many_tasks(p, n=120):
    return [p.add_task(f"T{i}", created_by=p.admin, group_id=p.gid) for i in range(n)]


def test_list_paging_next_total_and_rounding(portal, api):
    ids = _many_tasks(portal)
    q = {"filter": {"GROUP_ID": portal.gid, ">=ID": ids[0]}, "order": {"ID": "asc"}, "select": ["ID"]}
    status, first = api.call("tasks.task.list", q)
    assert status == 200 and first["total"] == 120 and first["next"] == 50
    assert [int(t["id"]) for t in first["result"]["tasks"]] == ids[:50]
    _, mid = api.call("tasks.task.list", {**q, "start": 73})  # rounded down to 50
    assert [int(t["id"]) for t in mid["result"]["tasks"]] == ids[50:100] and mid["next"] == 100
    _, last = api.call("tasks.task.list", {**q, "start": 100})
    assert len(last["result"]["tasks"]) == 20 and "next" not in last and last["total"] == 120


def test_fast_paging_start_minus_one(portal, api):
    ids = _many_tasks(portal, 60)
    q = {"filter": {"GROUP_ID": portal.gid, ">ID": ids[9]}, "order": {"ID": "asc"}, "select": ["ID"], "start": -1}
    _, body = api.call("tasks.task.list", q)
    assert "total" not in body and "next" not in body
    assert [int(t["id"]) for t in body["result"]["tasks"]] == ids[10:60]
    for i in range(60):
        portal.add_user(f"U{i}", "X")
    _, users = api.call("user.get", {"FILTER": {">ID": 5}, "start": -1})
    assert "total" not in users and len(users["result"]) == 50 and users["result"][0]["ID"] == "6"
    _, page2 = api.call("user.get", {"start": 50})
    assert page2["total"] == 64 and "next" not in page2 and len(page2["result"]) == 14
    _, groups = api.call("sonet_group.get", {"FILTER": {">ID": 0}, "start": -1})
    assert "total" not in groups and len(groups["result"]) == 1


def test_batch_references_and_totals(portal, api):
    status, body = api.call("batch", {"halt": 0, "cmd": {
        "me": "user.current",
        "tasks": f"tasks.task.list?filter[GROUP_ID]={portal.gid}&select[]=ID&order[ID]=asc",
        "first": "tasks.task.get?taskId=$result[tasks][tasks][0][id]",
        "by_me": "user.get?ID=$result[me][ID]"}})
    assert status == 200
    r = body["result"]
    assert r["result"]["first"]["task"]["id"] == str(portal.master)
    assert r["result"]["by_me"][0]["ID"] == str(portal.admin)
    assert r["result_total"] == {"tasks": 3, "by_me": 1}
    assert r["result_error"] == [] and r["result_next"] == []
    assert set(r["result_time"]) == {"me", "tasks", "first", "by_me"}
    assert portal.stats.commands["batch"] == 1 and portal.stats.commands["tasks.task.get"] == 1


def test_batch_halt_zero_and_one(portal, server):
    bob = Http(server.webhook_url(portal.bob, portal.bob_secret))  # scopes task, im: no user scope
    cmd = {"get_user": "user.current", "get_task": f"tasks.task.get?taskId={portal.classic}",
           "bad": "tasks.task.list?order[NOPE]=asc"}
    status, halt0 = bob.call("batch", {"halt": 0, "cmd": cmd})
    assert status == 200
    assert halt0["result"]["result_error"]["get_user"]["error"] == "insufficient_scope"
    assert halt0["result"]["result_error"]["bad"]["error"] == "0"
    assert "get_task" in halt0["result"]["result"]
    status, halt1 = bob.call("batch", {"halt": 1, "cmd": cmd})
    assert status == 200
    assert list(halt1["result"]["result_error"]) == ["get_user"]
    assert halt1["result"]["result"] == [] and halt1["result"]["result_time"] == []


def test_batch_as_array_and_form_encoding(portal, api):
    _, body = api.call("batch", {"cmd": ["profile", "user.current"]})
    assert isinstance(body["result"]["result"], list) and body["result"]["result"][1]["ID"] == str(portal.admin)
    inner = urllib.parse.urlencode({"filter[ID]": portal.card, "select[]": "TITLE"})
    status, body = api.call("batch", f"halt=0&cmd[x]={urllib.parse.quote('tasks.task.list?' + inner)}", form=True)
    assert status == 200 and body["result"]["result"]["x"]["tasks"][0]["title"] == "New-card sub"


def test_batch_limits_and_nesting(portal, api):
    status, body = api.call("batch", {"cmd": {f"c{i}": "profile" for i in range(52)}})
    assert status == 200 and len(body["result"]["result"]) == 50  # the first 50 run
    assert [body["result"]["result_error"][k]["error"] for k in ("c50", "c51")] == ["ERROR_BATCH_LENGTH_EXCEEDED"] * 2
    status, body = api.call("batch", {"cmd": {f"c{i}": "profile" for i in range(50)}})
    assert status == 200 and len(body["result"]["result"]) == 50
    status, body = api.call("batch", {"cmd": {"inner": "batch?cmd[a]=profile", "ok": "profile"}})
    assert status == 200
    assert body["result"]["result_error"]["inner"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    assert "ok" in body["result"]["result"]


def test_batch_date_filter_plus_must_be_encoded(portal, api):
    portal.advance(10)
    since = portal.iso(portal.now_ts() - 5)
    portal.set_status(portal.classic, 3, by=portal.bob)
    good = "tasks.task.list?filter[%3E%3DCHANGED_DATE]=" + urllib.parse.quote(since, safe="") + "&select[]=ID"
    bad = "tasks.task.list?filter[%3E%3DCHANGED_DATE]=" + since + "&select[]=ID"  # '+' arrives as a space
    _, body = api.call("batch", {"cmd": {"good": good, "bad": bad}})
    assert [t["id"] for t in body["result"]["result"]["good"]["tasks"]] == [str(portal.classic)]
    # The space-mangled date is no error: strtotime cannot read it, so the filter starts in 1970.
    assert len(body["result"]["result"]["bad"]["tasks"]) == 3 and body["result"]["result_error"] == []
    status, direct = api.call("tasks.task.list", {"filter": {">=CHANGED_DATE": since.replace("+", " ")}})
    assert status == 200 and len(direct["result"]["tasks"]) == 3


def test_start_rounding_on_users():
    p = FakePortal()
    for i in range(55):
        p.add_user(f"U{i}", "X")
    from b24mirror.fakeportal.dispatch import page
    assert page(list(range(55)), 7).result == list(range(50)) and page(list(range(55)), 7).next == 50
    assert page(list(range(55)), "51").result == list(range(50, 55))
