import pytest
import requests

import b24mirror
from b24mirror.bitrix import (AuthError, BudgetExceeded, DeadlineExceeded, OutcomeUnknown, PermissionDenied,
                              RequestError, RetryableError, ScopeError, TransportError, is_write)

from .helpers import SECRET, body_of, err, ok, refused, reset_after_sending, url


def test_success_envelope_ua_timeouts(rsps, make_client):
    rsps.post(url("tasks.task.list"), json=ok({"tasks": [{"id": "1"}]}, total=120, next=50))
    client = make_client(connect_timeout=3.0, read_timeout=20.0)
    resp = client.call("tasks.task.list", {"filter": {"GROUP_ID": 5}})
    assert resp.result == {"tasks": [{"id": "1"}]}
    assert (resp.total, resp.next) == (120, 50)
    assert resp.time["operating_reset_at"] == 1_700_000_600
    req = rsps.calls[0].request
    assert req.headers["User-Agent"].startswith(f"b24mirror/{b24mirror.__version__}")
    assert req.headers["Content-Type"] == "application/json"
    assert body_of(rsps.calls[0]) == {"filter": {"GROUP_ID": 5}}
    assert req.req_kwargs["timeout"] == (3.0, 20.0)
    assert client.stats.requests == 1


def test_webhook_parts(make_client):
    client = make_client()
    assert client.user_id == 7
    assert client.portal_url == "https://example.bitrix24.ru"
    assert SECRET not in repr(client)
    with pytest.raises(ValueError) as info:
        make_client(webhook=f"https://example.bitrix24.ru/nope/{SECRET}")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("method,write", [
    ("tasks.task.list", False), ("tasks.task.get", False), ("task.commentitem.getlist", False),
    ("im.dialog.messages.get", False), ("user.current", False), ("profile", False), ("tasks.task.history.list", False),
    ("task.commentitem.add", True), ("tasks.task.update", True), ("im.message.send", True),
    ("task.checklistitem.complete", True), ("task.checklistitem.renew", True), ("tasks.task.chat.message.send", True),
    ("im.message.delete", True), ("something.unknown", True),
])
def test_write_inference(method, write):
    assert is_write(method) is write


@pytest.mark.parametrize("code,status,cls", [
    ("NO_AUTH_FOUND", 401, AuthError), ("ACCESS_DENIED", 403, PermissionDenied), ("insufficient_scope", 401, ScopeError),
    ("ERROR_CORE", 400, RequestError), ("100", 400, RequestError), ("0", 400, RequestError),
])
def test_final_errors_not_retried(rsps, make_client, code, status, cls):
    rsps.post(url("tasks.task.get"), **err(code, "nope<br>", status))
    client = make_client()
    with pytest.raises(cls) as info:
        client.call("tasks.task.get", {"taskId": 1})
    assert len(rsps.calls) == 1
    assert info.value.http_status == status and info.value.method == "tasks.task.get"


def test_read_retried_with_backoff_then_succeeds(rsps, make_client, clock):
    rsps.post(url("tasks.task.get"), status=503, body="<html>Service Unavailable</html>", content_type="text/html")
    rsps.post(url("tasks.task.get"), **err("INTERNAL_SERVER_ERROR", "", 500))
    rsps.post(url("tasks.task.get"), body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.post(url("tasks.task.get"), body=reset_after_sending())
    rsps.post(url("tasks.task.get"), json=ok({"task": {"id": "1"}}))
    client = make_client()
    assert client.call("tasks.task.get", {"taskId": 1}).result == {"task": {"id": "1"}}
    assert len(rsps.calls) == 5
    assert client.stats.retries == 4
    # exponential: 0.5, 1, 2, 4 plus jitter below 1 s
    assert [int(s) for s in clock.sleeps] == [0, 1, 2, 4]
    assert all(0 <= s - base < 1 for s, base in zip(clock.sleeps, [0.5, 1, 2, 4]))


def test_read_gives_up_after_max_attempts(rsps, make_client):
    rsps.post(url("user.current"), status=502, body="<html>Bad gateway</html>")
    client = make_client(max_attempts=3)
    with pytest.raises(TransportError) as info:
        client.call("user.current")
    assert len(rsps.calls) == 3
    assert info.value.code == "NOT_JSON" and info.value.http_status == 502
    assert isinstance(info.value, RetryableError)


def test_html_body_is_transport_error_not_crash(rsps, make_client):
    rsps.post(url("user.current"), status=200, body="<!DOCTYPE html><html>maintenance</html>", content_type="text/html")
    with pytest.raises(TransportError) as info:
        make_client(max_attempts=1).call("user.current")
    assert "text/html" in str(info.value)


@pytest.mark.parametrize("failure", [
    dict(body=requests.exceptions.ReadTimeout("read timed out")),
    dict(body=reset_after_sending()),
    dict(status=500, json={"error": "INTERNAL_SERVER_ERROR", "error_description": ""}),
    dict(status=502, body="<html>bad gateway</html>"),
    dict(status=504, body="<html>gateway timeout</html>"),
    dict(status=200, body="<html>oops</html>"),
])
def test_write_with_unknown_outcome_is_not_resent(rsps, make_client, failure):
    rsps.post(url("task.commentitem.add"), **failure)
    rsps.post(url("task.commentitem.add"), json=ok(42))
    client = make_client()
    with pytest.raises(OutcomeUnknown) as info:
        client.call("task.commentitem.add", {"TASKID": 1, "FIELDS": {"POST_MESSAGE": "hi"}})
    assert len(rsps.calls) == 1
    assert not isinstance(info.value, RetryableError)
    assert info.value.method == "task.commentitem.add"
    assert SECRET not in str(info.value)


def test_write_retried_when_provably_not_run(rsps, make_client):
    rsps.post(url("task.commentitem.add"), body=refused())
    rsps.post(url("task.commentitem.add"), **err("QUERY_LIMIT_EXCEEDED", "Too many requests", 503))
    rsps.post(url("task.commentitem.add"), body=requests.exceptions.ConnectTimeout("connect timed out"))
    rsps.post(url("task.commentitem.add"), json=ok(42))
    client = make_client()
    assert client.call("task.commentitem.add", {"TASKID": 1, "FIELDS": {"POST_MESSAGE": "hi"}}).result == 42
    assert len(rsps.calls) == 4
    assert client.stats.refused_503 == 1


def test_explicit_write_flag_overrides_inference(rsps, make_client):
    rsps.post(url("tasks.task.get"), body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown):
        make_client().call("tasks.task.get", {"taskId": 1}, write=True)
    assert len(rsps.calls) == 1


def test_write_request_errors_are_definite(rsps, make_client):
    rsps.post(url("task.commentitem.add"), **err("ERROR_CORE", "TASKS_ERROR_EXCEPTION_#8; action not allowed<br>"))
    with pytest.raises(RequestError):
        make_client().call("task.commentitem.add", {"TASKID": 1})


def test_operation_time_limit_blocks_method_until_reset(rsps, make_client, clock):
    rsps.post(url("tasks.task.history.list"), status=429,
              json={"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked",
                    "time": {"operating_reset_at": 1_700_000_000 + clock.now + 120, "finish": 1_700_000_000 + clock.now}})
    rsps.post(url("tasks.task.history.list"), json=ok({"list": []}))
    rsps.post(url("tasks.task.get"), json=ok({"task": {}}))
    client = make_client()
    with pytest.raises(BudgetExceeded) as info:
        client.call("tasks.task.history.list", {"taskId": 1})
    assert info.value.reset_at == 1_700_000_000 + 1000 + 120
    with pytest.raises(BudgetExceeded):  # not called again before the reset
        client.call("tasks.task.history.list", {"taskId": 1})
    assert len(rsps.calls) == 1
    client.call("tasks.task.get", {"taskId": 1})  # other methods keep working
    clock.now += 121
    assert client.call("tasks.task.history.list", {"taskId": 1}).result == {"list": []}


def test_deadline_stops_retries(rsps, make_client, clock):
    rsps.post(url("user.current"), status=500, json={"error": "INTERNAL_SERVER_ERROR"})
    client = make_client(deadline_seconds=2.0, max_attempts=10)
    with pytest.raises(DeadlineExceeded) as info:
        client.call("user.current")
    assert len(rsps.calls) == 2  # after 0.5+j and 1+j the next wait would pass the deadline
    assert clock.now <= 1000 + 2.0
    assert isinstance(info.value.__cause__, RetryableError)


def test_deadline_passed_no_request(rsps, make_client, clock):
    client = make_client(deadline_seconds=5.0)
    clock.now += 6
    with pytest.raises(DeadlineExceeded):
        client.call("user.current")
    assert len(rsps.calls) == 0


def test_read_timeout_capped_by_deadline(rsps, make_client, clock):
    rsps.post(url("user.current"), json=ok({"ID": "7"}))
    client = make_client(deadline_seconds=10.0, read_timeout=30.0)
    clock.now += 4
    client.call("user.current")
    assert rsps.calls[0].request.req_kwargs["timeout"] == (5.0, 6.0)


def test_redirect_is_followed_by_reposting(rsps, make_client):
    new = "https://new.bitrix24.ru/rest/7/" + SECRET + "/task.commentitem.add"
    rsps.post(url("task.commentitem.add"), status=302, headers={"Location": new})
    rsps.post(new, json=ok(9))
    assert make_client().call("task.commentitem.add", {"TASKID": 1}).result == 9
    assert body_of(rsps.calls[1]) == {"TASKID": 1}


def test_error_in_200_body(rsps, make_client):
    rsps.post(url("tasks.task.get"), status=200, json={"error": "100", "error_description": "bad select"})
    with pytest.raises(RequestError) as info:
        make_client().call("tasks.task.get")
    assert info.value.code == "100"
