"""Every documented sample (METHOD.json and errors/METHOD.json) against the emulator's answer over HTTP:
the same keys with values of the same JSON type, recursively; for lists, the first items are compared.

Rules, each a reading of the docs rather than a loophole:
- a sample value of null is sample-specific (any type may come back: e.g. TOGGLED_BY is null until toggled);
- ints and floats are one JSON type (`time.start` is an int in some samples, a float in others);
- an empty PHP array `[]` stands for an empty map, so it matches an object (and an object matches `[]`);
- a list that is empty on either side has no first item to compare;
- a map keyed by ids (ATTACHED_OBJECTS, auditorsData, tags) is compared by one of its values.
ALLOWED lists the few paths where the sample cannot match for a stated reason."""
from __future__ import annotations

import json

import pytest

from .conftest import Http, samples_dir

SAMPLES = samples_dir()

ALLOWED = {
    # The user.get page shows TIMESTAMP_X / LAST_ACTIVITY_DATE as {}; batch and user.current samples show strings.
    ("user.get", "result[0].TIMESTAMP_X"), ("user.get", "result[0].LAST_ACTIVITY_DATE"),
    # The batch sample calls department.get, which the emulator does not serve (get_department is a user.get here).
    ("batch", "result.result.get_department"), ("batch", "result.result_total.get_department"),
}
# Task fields the docs give as null when unset (fields.md: "null if open", no plan dates, no start).
NULLABLE = {"closedDate", "startDatePlan", "endDatePlan", "dateStart", "viewedDate", "parentId"}
# im.chat.get's documented error is INVALID_CREDENTIALS (401); the emulator is reached with a bad argument instead.
STATUS_ALLOWED = {"im.chat.get"}


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def compare(method: str, sample, actual, path: str = "") -> list[str]:
    if (method, path) in ALLOWED or sample is None:
        return []
    if actual is None and path.rsplit(".", 1)[-1] in NULLABLE:
        return []
    ks, ka = _kind(sample), _kind(actual)
    if {ks, ka} == {"list", "object"} and ([] in (sample, actual)):
        return []
    if ks != ka:
        return [f"{path or '<root>'}: sample {ks} {sample!r:.60}, emulator {ka} {actual!r:.60}"]
    problems = []
    if ks == "object" and sample and all(k.isdigit() for k in sample):  # a map keyed by ids: compare one value
        if not actual or not all(str(k).isdigit() for k in actual):
            return [f"{path}: sample is keyed by ids, emulator keys {list(actual)[:3]}"]
        return compare(method, next(iter(sample.values())), next(iter(actual.values())), f"{path}.<id>")
    if ks == "object":
        missing = [k for k in sample if not k.startswith("_") and k not in actual]
        problems += [f"{path}.{k}: missing" for k in missing]
        for key in sample:
            if key in actual and not key.startswith("_"):
                problems += compare(method, sample[key], actual[key], f"{path}.{key}".lstrip("."))
    elif ks == "list" and sample and actual:
        problems += compare(method, sample[0], actual[0], f"{path}[0]")
    return problems


def _seed(p):
    """Data that gives each sample something to be compared with."""
    p.add_auditor(p.card, p.admin)  # the admin reads the card's chat as a participant
    p.add_auditor(p.classic, p.bob)
    p.add_comment(p.card, p.bob, "Hello from the chat")
    p.add_comment(p.classic, p.admin, "Plain")
    p.c_id = p.add_comment(p.classic, p.bob, "With photos", attachments=["photo1.png", {"name": "photo2.png", "size": 9}])
    p.root = p.add_checklist_item(p.classic, "Checklist 1", parent_id=0)
    p.item = p.add_checklist_item(p.classic, "Prepare contract", parent_id=p.root, members={p.bob: "A"},
                                  attachments=["Instructions.docx"])
    p.toggle_checklist_item(p.item, True, p.admin)
    p.set_status(p.classic, 3, by=p.bob)
    p.set_deadline(p.classic, "2026-06-19T18:00:00+03:00", by=p.admin)


def _scenario(name: str, p, api: Http, server):
    c, card_chat = p.classic, f"chat{p.tasks[p.card].chat_id}"
    v3 = Http(server.base_url + f"/rest/api/{p.admin}/{p.secret}/")
    ok = {
        "batch": lambda: api.call("batch", {"cmd": {"get_user": "user.current",
                                                    "get_department": "user.get?ID=$result[get_user][ID]"}}),
        "im.chat.get": lambda: api.call("im.chat.get", {"ENTITY_TYPE": "TASKS_TASK", "ENTITY_ID": p.card}),
        "im.dialog.messages.get": lambda: api.call("im.dialog.messages.get", {"DIALOG_ID": card_chat}),
        "im.message.add": lambda: api.call("im.message.add", {"DIALOG_ID": card_chat, "MESSAGE": "hi"}),
        "im.message.update": lambda: api.call("im.message.update", {
            "MESSAGE_ID": api.call("im.message.add", {"DIALOG_ID": card_chat, "MESSAGE": "a"})[1]["result"],
            "MESSAGE": "b"}),
        "im.message.delete": lambda: api.call("im.message.delete", {
            "MESSAGE_ID": api.call("im.message.add", {"DIALOG_ID": card_chat, "MESSAGE": "a"})[1]["result"]}),
        "profile": lambda: api.call("profile"),
        "sonet_group.get": lambda: api.call("sonet_group.get", {"FILTER": {"ID": p.gid}}),
        "sonet_group.user.get": lambda: api.call("sonet_group.user.get", {"ID": p.gid}),
        "task.checklistitem.add": lambda: api.call("task.checklistitem.add", {"TASKID": c, "FIELDS": {"TITLE": "x"}}),
        "task.checklistitem.complete": lambda: api.call("task.checklistitem.complete", [c, p.item]),
        "task.checklistitem.renew": lambda: api.call("task.checklistitem.renew", [c, p.item]),
        "task.checklistitem.delete": lambda: api.call("task.checklistitem.delete", {
            "TASKID": c, "ITEMID": p.add_checklist_item(c, "temp")}),
        "task.checklistitem.get": lambda: api.call("task.checklistitem.get", {"TASKID": c, "ITEMID": p.item}),
        "task.checklistitem.getlist": lambda: api.call("task.checklistitem.getlist", {"TASKID": c}),
        "task.checklistitem.update": lambda: api.call("task.checklistitem.update", {
            "TASKID": c, "ITEMID": p.item, "FIELDS": {"TITLE": "Renamed"}}),
        "task.commentitem.add": lambda: api.call("task.commentitem.add", {"TASKID": c, "FIELDS": {"POST_MESSAGE": "x"}}),
        "task.commentitem.delete": lambda: api.call("task.commentitem.delete", {
            "TASKID": c, "ITEMID": p.add_comment(c, p.admin, "temp")}),
        "task.commentitem.get": lambda: api.call("task.commentitem.get", {"TASKID": c, "ITEMID": p.c_id}),
        "task.commentitem.getlist": lambda: api.call("task.commentitem.getlist", {"TASKID": c}),
        "task.commentitem.update": lambda: api.call("task.commentitem.update", {
            "TASKID": c, "ITEMID": p.add_comment(c, p.admin, "temp"), "FIELDS": {"POST_MESSAGE": "y"}}),
        "tasks.task.chat.message.send": lambda: v3.call("tasks.task.chat.message.send",
                                                        {"fields": {"taskId": p.card, "text": "Hi"}}),
        "tasks.task.get": lambda: api.call("tasks.task.get", {"taskId": c}),
        "tasks.task.history.list": lambda: api.call("tasks.task.history.list", {"taskId": c}),
        "tasks.task.list": lambda: api.call("tasks.task.list", {"filter": {"ID": c}, "select": ["*", "COUNTERS"],
                                                                "params": {"WITH_RESULT_INFO": "Y", "WITH_TIMER_INFO": "Y",
                                                                           "WITH_PARSED_DESCRIPTION": "Y"}}),
        "tasks.task.update": lambda: api.call("tasks.task.update", {"taskId": c, "fields": {"TITLE": "New"}}),
        "user.current": lambda: api.call("user.current"),
        "user.get": lambda: api.call("user.get", {"FILTER": {"ID": [p.admin, p.bob]}}),
    }
    eve = Http(server.webhook_url(p.eve, p.eve_secret))
    err = {
        "im.chat.get": lambda: api.call("im.chat.get", {"ENTITY_TYPE": "TASKS_TASK"}),
        "im.dialog.messages.get": lambda: api.call("im.dialog.messages.get", {}),
        "im.message.add": lambda: api.call("im.message.add", {"DIALOG_ID": card_chat, "MESSAGE": ""}),
        "im.message.delete": lambda: api.call("im.message.delete", {}),
        "im.message.update": lambda: api.call("im.message.update", {"MESSAGE": "x"}),
        "sonet_group.user.get": lambda: api.call("sonet_group.user.get", {"ID": 999}),
        "task.checklistitem.add": lambda: api.call("task.checklistitem.add", [c, {"TITLE": ""}]),
        "task.checklistitem.complete": lambda: api.call("task.checklistitem.complete", [c]),
        "task.checklistitem.delete": lambda: eve.call("task.checklistitem.delete", [c, p.item]),
        "task.checklistitem.get": lambda: api.call("task.checklistitem.get", [c]),
        "task.checklistitem.getlist": lambda: api.call("task.checklistitem.getlist", [99999]),
        "task.checklistitem.renew": lambda: api.call("task.checklistitem.renew", [c]),
        "task.checklistitem.update": lambda: eve.call("task.checklistitem.update", [c, p.item, {"TITLE": "x"}]),
        "task.commentitem.add": lambda: api.call("task.commentitem.add", [c, {"POST_MESSAGE": ""}]),
        "task.commentitem.delete": lambda: eve.call("task.commentitem.delete", [c, p.c_id]),
        "task.commentitem.get": lambda: api.call("task.commentitem.get", [c, 1]),
        "task.commentitem.getlist": lambda: api.call("task.commentitem.getlist", [c, {">=POST_DATE": "asc"}]),
        "task.commentitem.update": lambda: api.call("task.commentitem.update", [c, p.c_id, {"POST_MESSAGE": ""}]),
        "tasks.task.chat.message.send": lambda: v3.call("tasks.task.chat.message.send", {"fields": {"text": "x"}}),
        "tasks.task.get": lambda: api.call("tasks.task.get", {"taskId": c, "select": {}}),
        "tasks.task.history.list": lambda: eve.call("tasks.task.history.list", {"taskId": c}),
        "tasks.task.list": lambda: api.call("tasks.task.list", {"order": {"NO_SUCH": "asc"}}),
        "tasks.task.update": lambda: api.call("tasks.task.update", {"taskId": c, "fields": {"PARENT_ID": c}}),
    }
    return ok, err


def _names(sub: str = "") -> list[str]:
    return sorted(f.name[:-5] for f in (SAMPLES / sub).glob("*.json"))


def test_every_sample_has_a_scenario(portal, api, server):
    ok, err = _scenario("", portal, api, server)
    assert set(_names()) <= set(ok), set(_names()) - set(ok)
    assert set(_names("errors")) <= set(err), set(_names("errors")) - set(err)


@pytest.mark.parametrize("name", _names())
def test_success_sample(name, portal, api, server):
    _seed(portal)
    ok, _ = _scenario(name, portal, api, server)
    sample = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    status, body = ok[name]()
    assert status == 200, body
    assert compare(name, sample, body) == []


@pytest.mark.parametrize("name", _names("errors"))
def test_error_sample(name, portal, api, server):
    _seed(portal)
    _, err = _scenario(name, portal, api, server)
    sample = json.loads((SAMPLES / "errors" / f"{name}.json").read_text(encoding="utf-8"))
    status, body = err[name]()
    assert compare(name, sample, body) == []
    assert set(body) == {k for k in sample if not k.startswith("_")}
    if name not in STATUS_ALLOWED:
        assert status == sample["_http_status"], body


def test_compare_catches_differences():
    """The comparison itself must be able to fail."""
    assert compare("x", {"a": "1", "b": [{"c": 1}]}, {"a": 1, "b": [{"c": 1}]})
    assert compare("x", {"a": "1", "b": [{"c": 1}]}, {"a": "1", "b": [{"d": 1}]})
    assert compare("x", {"a": {"k": 1}}, {"a": {"k": 2}}) == []
    assert compare("x", {"a": []}, {"a": {"k": 2}}) == []
