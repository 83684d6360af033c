"""Auth and scopes, the leaky bucket, the operating budget, and every injected fault kind."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse

import pytest

from b24mirror.fakeportal import FakePortal, serve

from .conftest import Dropped, Http


def test_wrong_secret_and_wrong_user(portal, server):
    status, body = Http(server.webhook_url(portal.admin, "nope")).call("profile")
    assert (status, body["error"]) == (401, "NO_AUTH_FOUND")
    status, body = Http(server.webhook_url(portal.bob, portal.secret)).call("profile")
    assert (status, body["error"]) == (401, "NO_AUTH_FOUND")


def test_insufficient_scope_names_the_scope(portal, bob_api):
    status, body = bob_api.call("user.get")
    assert status == 403 and body["error"] == "insufficient_scope" and "user" in body["error_description"]
    status, body = bob_api.call("sonet_group.user.get", {"ID": portal.gid})
    assert status == 403 and "sonet_group" in body["error_description"]
    assert bob_api.call("profile")[0] == 200  # basic: every webhook has it


def test_unknown_method(api):
    status, body = api.call("no.such.method")
    assert (status, body["error"]) == (404, "ERROR_METHOD_NOT_FOUND")


def test_oauth_expired_token_and_refresh(portal, server):
    client_id, client_secret = portal.add_app()
    grant = portal.issue_token(portal.admin, client_id, scopes=("task", "user"))
    rest = Http(server.base_url + "/rest/")
    status, body = rest.call("user.current", query="auth=" + grant["access_token"])
    assert status == 200 and body["result"]["ID"] == str(portal.admin)
    status, body = rest.call("user.current", {"auth": grant["access_token"]})  # in the body too
    assert status == 200
    portal.advance(3601)
    status, body = rest.call("user.current", query="auth=" + grant["access_token"])
    assert (status, body["error"]) == (401, "expired_token")
    q = urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": client_id,
                                "client_secret": client_secret, "refresh_token": grant["refresh_token"]})
    oauth = Http(server.base_url)
    status, fresh = oauth.request("/oauth/token/", query=q)
    assert status == 200 and fresh["refresh_token"] != grant["refresh_token"]
    documented = json.loads((__import__("pathlib").Path(__file__).parent / "samples" / "variants" /
                             "oauth.token.refresh.json").read_text())
    assert set(fresh) == {k for k in documented if not k.startswith("_")}
    assert rest.call("user.current", query="auth=" + fresh["access_token"])[0] == 200
    status, body = oauth.request("/oauth/token/", query=q)  # the old refresh token is spent
    assert (status, body["error"]) == (400, "invalid_grant")
    assert rest.call("im.dialog.messages.get", query="auth=" + fresh["access_token"])[1]["error"] == \
        "insufficient_scope"


def test_chat_non_participant_gets_access_error(portal, api, eve_api, bob_api):
    chat = f"chat{portal.tasks[portal.card].chat_id}"
    assert bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat})[0] == 200
    for who in (api, eve_api):  # the admin is not a participant either
        status, body = who.call("im.dialog.messages.get", {"DIALOG_ID": chat})
        assert (status, body["error"]) == (403, "ACCESS_ERROR")
    assert api.call("im.message.add", {"DIALOG_ID": chat, "MESSAGE": "x"})[1]["error"] == "ACCESS_ERROR"
    assert api.call("tasks.task.update", {"taskId": portal.card, "fields": {"AUDITORS": [portal.admin]}})[0] == 200
    assert api.call("im.dialog.messages.get", {"DIALOG_ID": chat})[0] == 200


def test_task_errors(portal, api, eve_api):
    assert eve_api.call("tasks.task.get", {"taskId": portal.classic}) [1]["result"] == []
    assert api.call("tasks.task.get", {"taskId": 99999})[1]["result"] == []
    status, body = api.call("tasks.task.get", {})
    assert status == 400 and body["error"] == "100"
    status, body = eve_api.call("tasks.task.history.list", {"taskId": portal.classic})
    assert (status, body["error"], body["error_description"]) == (400, "0", "Access denied. (internal error)")
    assert api.call("tasks.task.history.list", {"taskId": 99999})[1]["result"] == {"list": []}
    status, body = api.call("tasks.task.list", {"order": {"FOO": "asc"}})
    assert (status, body) == (400, {"error": "0", "error_description": "Invalid sorting key (internal error)"})
    status, body = api.call("tasks.task.list", {"filter": {">CHANGED_DATE": "yesterday-ish"}})
    assert status == 200 and len(body["result"]["tasks"]) == 3  # strtotime: an unreadable date is 1970
    status, body = eve_api.call("tasks.task.update", {"taskId": portal.classic, "fields": {"TITLE": "x"}})
    assert status == 400 and body["error"] == "0"
    status, body = api.call("tasks.task.update", {"taskId": portal.master, "fields": {"PARENT_ID": portal.classic}})
    assert status == 400 and body["error"] == "ERROR_CORE"


# ---- limits --------------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self):
        return self.t


def _limited_portal(**kw):
    clock = Clock()
    p = FakePortal(limits="standard", clock=clock, **kw)
    uid = p.add_user("A", "B", admin=True)
    return p, clock, uid, p.add_webhook(uid)


def test_bucket_refuses_the_51st_request_and_counts_only_accepted():
    p, clock, uid, secret = _limited_portal()
    with serve(p) as srv:
        api = Http(srv.webhook_url(uid, secret))
        assert [api.call("profile")[0] for _ in range(50)] == [200] * 50
        status, body = api.call("profile")
        assert (status, body["error"]) == (503, "QUERY_LIMIT_EXCEEDED")
        assert api.call("profile")[0] == 503  # refused requests add nothing, but nothing drained either
        assert p.stats.rejected_503 == 2 and p.stats.requests == 52
        clock.t += 1.0  # drains 2
        assert [api.call("profile")[0] for _ in range(3)] == [200, 200, 503]


def test_enterprise_bucket_is_250():
    clock = Clock()
    p = FakePortal(limits="enterprise", clock=clock)
    assert (p.bucket.burst, p.bucket.rate) == (250, 5.0)
    assert sum(p.bucket.take(clock()) for _ in range(260)) == 250


def test_limits_off_by_default(portal, api):
    assert portal.bucket is None
    assert all(api.call("profile")[0] == 200 for _ in range(60))


def test_operation_time_limit_per_method_and_batch():
    p, clock, uid, secret = _limited_portal(operating_cost={"tasks.task.list": 100.0}, operating_limit=480.0)
    with serve(p) as srv:
        api = Http(srv.webhook_url(uid, secret))
        first = p.now_ts() + 2
        for _ in range(5):  # 500 s used: over 480
            clock.t += 2
            status, body = api.call("tasks.task.list")
            assert status == 200
        assert body["time"]["operating"] == 500.0 and body["time"]["operating_reset_at"] == int(first + 600)
        clock.t += 2
        status, body = api.call("tasks.task.list")
        assert (status, body["error"]) == (429, "OPERATION_TIME_LIMIT")
        assert api.call("tasks.task.get", {"taskId": 1})[0] == 200  # other methods keep working
        status, body = api.call("batch", {"cmd": {"a": "tasks.task.list", "b": "profile"}})
        assert status == 200 and body["result"]["result_error"]["a"]["error"] == "OPERATION_TIME_LIMIT"
        clock.t += 601
        assert api.call("tasks.task.list")[0] == 200


# ---- faults ---------------------------------------------------------------------------------------------

def _add_comment(api, portal, text="x", timeout=None):
    return api.call("task.commentitem.add", {"TASKID": portal.classic, "FIELDS": {"POST_MESSAGE": text}},
                    timeout=timeout)


@pytest.mark.parametrize("kind,status", [("503", 503), ("500", 500)])
def test_fault_error_statuses_do_not_apply(kind, status, portal, api):
    portal.faults.add(kind, method="task.commentitem.add", count=1)
    got, body = _add_comment(api, portal)
    assert got == status and "error" in body
    assert portal.comments(portal.classic) == []
    assert _add_comment(api, portal)[0] == 200  # count=1: the next one goes through
    assert portal.stats.faults_injected == 1 and portal.stats.rejected_503 == 0


def test_fault_html_page(portal, api):
    portal.faults.add("html")
    status, ctype, body = api.request("profile", raw=True)
    assert status == 502 and ctype.startswith("text/html") and b"<html>" in body
    portal.faults.clear()
    assert api.call("profile")[0] == 200


def test_fault_slow_runs_the_call(portal, api):
    portal.faults.add("slow", method="task.commentitem.add", count=1, seconds=1.0)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        _add_comment(api, portal, "slow one", timeout=0.3)
    assert [c["text"] for c in portal.comments(portal.classic)] == ["slow one"]


def test_fault_reset_applies_nothing(portal, api):
    portal.faults.add("reset", method="task.commentitem.add", count=1)
    with pytest.raises(Dropped):
        _add_comment(api, portal)
    assert portal.comments(portal.classic) == [] and portal.stats.commands["task.commentitem.add"] == 0


def test_fault_lost_response_applies_once(portal, api):
    portal.faults.add("lost_response", method="task.commentitem.add", count=1)
    with pytest.raises(Dropped):
        _add_comment(api, portal, "applied")
    assert [c["text"] for c in portal.comments(portal.classic)] == ["applied"]
    assert portal.stats.commands["task.commentitem.add"] == 1 and portal.stats.faults_by_kind["lost_response"] == 1


def test_fault_rate_is_deterministic_with_a_seed():
    def pattern(seed):
        p = FakePortal(seed=seed)
        p.faults.add("500", rate=0.3)
        return [p.faults.pick("profile") is not None for _ in range(40)]
    assert pattern(7) == pattern(7)
    assert 3 < sum(pattern(7)) < 25
    with pytest.raises(ValueError):
        FakePortal().faults.add("teapot")
