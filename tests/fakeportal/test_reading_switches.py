"""The readings registry and each switch: under every alternative the portal answers differently, and the
default is the harder one for a client."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest

from b24mirror.fakeportal import FakePortal, serve
from b24mirror.fakeportal.readings import READINGS, alternatives, resolve

from .conftest import Http, make_portal

SITE = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$")


def test_registry_api():
    assert all(r.default in r.values and r.why and r.source for r in READINGS.values())
    assert ("date_format", "iso") in alternatives() and ("date_format", "site") not in alternatives()
    assert resolve(None) == {n: r.default for n, r in READINGS.items()}
    assert resolve({"list_chat_id"})["list_chat_id"] == "present"
    assert resolve({"history_default_order": "desc"})["history_default_order"] == "desc"
    assert resolve(["date_format=iso"])["date_format"] == "iso"
    for bad in ({"nope": "x"}, {"date_format": "unix"}, ["nope"]):
        with pytest.raises(ValueError):
            resolve(bad)


def _served(readings):
    p = make_portal(readings)
    return p, serve(p)


def _probe(name: str, p, api: Http):
    """What the reading `name` changes, as a client sees it."""
    if name == "list_chat_id":
        return "chatId" in api.call("tasks.task.list", {"filter": {"ID": p.card}})[1]["result"]["tasks"][0]
    if name == "date_format":
        return api.call("tasks.task.get", {"taskId": p.master})[1]["result"]["task"]["createdDate"]
    if name == "chat_history_for_new_members":
        p.add_auditor(p.card, p.admin, by=p.bob)
        msgs = api.call("im.dialog.messages.get", {"DIALOG_ID": f"chat{p.tasks[p.card].chat_id}"})[1]
        return [m["params"]["CODE"] for m in msgs["result"]["messages"]]
    if name == "history_default_order":
        p.set_status(p.master, 3, by=p.admin)
        return [h["field"] for h in api.call("tasks.task.history.list", {"taskId": p.master})[1]["result"]["list"]]
    if name == "deadline_history_values":
        p.set_deadline(p.master, "2026-06-19T18:00:00+03:00", by=p.admin)  # task 101: an odd id
        rows = api.call("tasks.task.history.list", {"taskId": p.master, "filter": {"FIELD": "DEADLINE"}})[1]
        return rows["result"]["list"][0]["value"]["to"]
    if name == "status_history_rows":
        p.set_status(p.master, 3, by=p.admin)
        rows = api.call("tasks.task.history.list", {"taskId": p.master})[1]["result"]["list"]
        return sorted(h["field"] for h in rows)
    if name == "chat_for_switched_task":
        p.switch_to_new_card(p.tasks[p.master].group_id)
        return api.call("tasks.task.get", {"taskId": p.master})[1]["result"]["task"]["chatId"]
    raise AssertionError(f"no probe for reading {name}")


@pytest.mark.parametrize("name,value", alternatives())
def test_each_alternative_changes_what_a_client_sees(name, value):
    seen = {}
    for readings in (None, {name: value}):
        p, srv = _served(readings)
        with srv:
            seen[bool(readings)] = _probe(name, p, Http(srv.webhook_url(p.admin, p.secret)))
    assert seen[False] != seen[True]


def test_defaults_are_the_harder_readings(portal, api):
    assert "chatId" not in api.call("tasks.task.list", {"filter": {"ID": portal.card}})[1]["result"]["tasks"][0]
    assert api.call("tasks.task.get", {"taskId": portal.card})[1]["result"]["task"]["chatId"]
    assert SITE.match(_probe("date_format", portal, api))
    assert _probe("history_default_order", portal, api)[0] == "NEW"  # oldest first, unlike the docs
    assert _probe("status_history_rows", portal, api) == ["NEW", "REAL_STATUS", "STATUS"]
    codes = _probe("chat_history_for_new_members", portal, api)
    assert ["TASK_CREATED"] not in codes and ["CHAT_JOIN"] in codes  # the admin joined late: no earlier messages


def test_easy_readings_say_what_the_docs_say():
    p, srv = _served({"date_format": "iso", "chat_history_for_new_members": "visible",
                      "deadline_history_values": "unix", "history_default_order": "desc"})
    with srv:
        api = Http(srv.webhook_url(p.admin, p.secret))
        assert _probe("date_format", p, api) == p.iso(p.tasks[p.master].created)
        assert ["TASK_CREATED"] in _probe("chat_history_for_new_members", p, api)
        assert _probe("deadline_history_values", p, api) == "1781881200"
        assert _probe("history_default_order", p, api)[-1] == "NEW"


def test_site_dates_in_comments_and_history(portal, api):
    portal.add_comment(portal.classic, portal.admin, "x")
    row = api.call("task.commentitem.getlist", [portal.classic])[1]["result"][0]
    hist = api.call("tasks.task.history.list", {"taskId": portal.classic})[1]["result"]["list"][0]
    assert SITE.match(row["POST_DATE"]) and SITE.match(hist["createdDate"])
    task = api.call("tasks.task.list", {"filter": {"ID": portal.classic}})[1]["result"]["tasks"][0]
    assert all(SITE.match(task[k]) for k in ("createdDate", "changedDate", "activityDate"))


def test_cli_takes_readings():
    proc = subprocess.Popen([sys.executable, "-m", "b24mirror.fakeportal", "--port", "0", "--reading", "list_chat_id",
                             "--reading", "date_format=iso"], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        with urllib.request.urlopen(url + "tasks.task.list.json", timeout=10) as resp:
            tasks = json.load(resp)["result"]["tasks"]
        assert "chatId" in tasks[0] and "T" in tasks[0]["createdDate"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run([sys.executable, "-m", "b24mirror.fakeportal", "--reading", "nope"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "unknown reading 'nope'" in bad.stderr


def test_a_portal_takes_readings_as_names():
    assert FakePortal(readings={"list_chat_id"}).reading("list_chat_id") == "present"
