import json
from urllib.parse import parse_qsl

import pytest
import requests

from b24mirror.bitrix import (BatchItem, BudgetExceeded, OutcomeUnknown, RequestError, RetryableError, ScopeError,
                              TransportError)

from .helpers import body_of, ok, url


def batch_reply(request_body, *, fail=(), missing=(), halt_after=None, total=None, errors=None):
    """Answer every command of a batch request like the portal: result echoes the command."""
    cmd = request_body["cmd"]
    results, result_error, totals = {}, {}, {}
    for i, (key, value) in enumerate(cmd.items()):
        if halt_after is not None and i > halt_after:
            break
        method, _, query = value.partition("?")
        if method in fail:
            result_error[key] = (errors or {}).get(method, {"error": "ERROR_CORE", "error_description": "bad"})
            continue
        if method in missing:
            continue
        results[key] = {"method": method, "params": dict(parse_qsl(query))}
        if total is not None:
            totals[key] = total
    return ok({"result": results or [], "result_error": result_error or [], "result_total": totals or [],
               "result_next": [], "result_time": []})


def callback(**kw):
    def cb(request):
        return 200, {}, json.dumps(batch_reply(json.loads(request.body), **kw))
    return cb


def test_splits_into_50_and_keeps_keys(rsps, make_client):
    rsps.add_callback("POST", url("batch"), callback=callback(total=3))
    client = make_client()
    commands = {f"task{i}": ("tasks.task.get", {"taskId": i, "select": ["ID"]}) for i in range(120)}
    items = client.batch(commands)
    assert list(items) == list(commands)
    assert len(rsps.calls) == 3
    assert [len(body_of(c)["cmd"]) for c in rsps.calls] == [50, 50, 20]
    assert items["task77"].result == {"method": "tasks.task.get", "params": {"taskId": "77", "select[0]": "ID"}}
    assert items["task77"].total == 3 and items["task77"].error is None
    assert client.stats.batch_commands == 120
    assert body_of(rsps.calls[0])["halt"] == 0


def test_a_batch_of_reads_tells_how_far_it_has_come_after_each_request_and_posts_do_not(rsps, make_client):
    rsps.add_callback("POST", url("batch"), callback=callback())
    client = make_client()
    told = []
    client.read_progress = lambda done, total: told.append((done, total, len(rsps.calls)))
    client.batch({f"task{i}": ("tasks.task.get", {"taskId": i}) for i in range(120)})
    assert told == [(1, 3, 1), (2, 3, 2), (3, 3, 3)]  # each once its request is answered
    told.clear()
    client.batch({f"post{i}": ("task.commentitem.add", {"0": 1, "1": {"POST_MESSAGE": "x"}}) for i in range(60)},
                 halt=True)
    assert told == []  # posts have their own progress, per group


def test_list_input_gets_index_keys_and_php_encoding(rsps, make_client):
    rsps.add_callback("POST", url("batch"), callback=callback())
    items = make_client().batch([("tasks.task.list", {"filter": {">=CREATED_DATE": "2024-01-01T00:00:00+03:00"}}),
                                 ("user.current", {})])
    assert list(items) == ["0", "1"]
    sent = list(body_of(rsps.calls[0])["cmd"].values())
    assert sent[0] == "tasks.task.list?filter[%3E%3DCREATED_DATE]=2024-01-01T00%3A00%3A00%2B03%3A00"
    assert sent[1] == "user.current"
    assert items["0"].result["params"] == {"filter[>=CREATED_DATE]": "2024-01-01T00:00:00+03:00"}


def test_empty_batch(rsps, make_client):
    assert make_client().batch({}) == {}
    assert len(rsps.calls) == 0


def test_every_command_gets_result_or_error(rsps, make_client):
    rsps.add_callback("POST", url("batch"), callback=callback(
        fail=("sonet_group.get", "tasks.task.list"), missing=("user.get",),
        errors={"sonet_group.get": {"error": "insufficient_scope", "error_description": ""}}))
    items = make_client().batch({"a": ("user.current", {}), "b": ("sonet_group.get", {}), "c": ("tasks.task.list", {}),
                                 "d": ("user.get", {}), "e": ("task.commentitem.add", {"TASKID": 1})}, halt=False)
    assert set(items) == {"a", "b", "c", "d", "e"}
    assert items["a"].unwrap()["method"] == "user.current"
    assert isinstance(items["b"].error, ScopeError) and items["b"].error.scope == "sonet_group"
    assert isinstance(items["c"].error, RequestError) and items["c"].error.method == "tasks.task.list"
    with pytest.raises(RequestError):
        items["c"].unwrap()
    assert isinstance(items["d"].error, TransportError)  # missing read: an error, never silently dropped
    assert items["e"].result["method"] == "task.commentitem.add"


def test_missing_write_result_is_outcome_unknown(rsps, make_client):
    rsps.add_callback("POST", url("batch"), callback=callback(missing=("task.commentitem.add",)))
    items = make_client().batch({"w": ("task.commentitem.add", {"TASKID": 1})})
    assert isinstance(items["w"].error, OutcomeUnknown)


def test_doc_sample_shapes_with_empty_arrays(rsps, make_client):
    # batch.error-halt0.json: every member [] except result_error
    rsps.post(url("batch"), json={"result": {"result": [], "result_error": {
        "c0": {"error": "insufficient_scope", "error_description": ""},
        "c1": {"error": "insufficient_scope", "error_description": ""}},
        "result_total": [], "result_next": [], "result_time": []}, "time": {}})
    items = make_client().batch({"get_user": ("user.current", {}), "get_department": ("department.get", {"ID": 1})})
    assert all(isinstance(i.error, ScopeError) for i in items.values())


def test_php_list_form_of_results(rsps, make_client):
    # keys c0, c1 never collide with PHP's 0..n-1 lists, but a list answer must still map by position if it comes
    rsps.post(url("batch"), json=ok({"result": {"c0": [], "c1": {"x": 1}}, "result_error": [], "result_total": {"c0": 0},
                                     "result_next": [], "result_time": {"c0": {"operating": 1.5}}}))
    items = make_client().batch({"a": ("tasks.task.list", {}), "b": ("user.current", {})})
    assert items["a"].result == [] and items["a"].total == 0
    assert items["b"].result == {"x": 1}


def test_halt_stops_and_marks_the_rest(rsps, make_client):
    rsps.add_callback("POST", url("batch"), callback=callback(fail=("im.message.add",), halt_after=1))
    commands = [("user.current", {})] + [("im.message.add", {"DIALOG_ID": 1})] + [("user.current", {})] * 60
    items = make_client().batch(commands, halt=True)
    assert len(items) == 62
    assert items["0"].error is None
    assert isinstance(items["1"].error, RequestError) and items["1"].error.code == "ERROR_CORE"
    assert all(items[str(i)].error.code == "BATCH_HALTED" for i in range(2, 62))
    assert len(rsps.calls) == 1  # the second chunk is never sent
    assert body_of(rsps.calls[0])["halt"] == 1


def test_transient_command_errors_are_retried_for_reads(rsps, make_client, clock):
    state = {"n": 0}

    def cb(request):
        state["n"] += 1
        body = json.loads(request.body)
        fail = ("user.current",) if state["n"] == 1 else ()
        return 200, {}, json.dumps(batch_reply(body, fail=fail, errors={
            "user.current": {"error": "INTERNAL_SERVER_ERROR", "error_description": ""}}))

    rsps.add_callback("POST", url("batch"), callback=cb)
    client = make_client()
    items = client.batch({"r": ("user.current", {}), "t": ("tasks.task.get", {"taskId": 1})})
    assert items["r"].error is None and items["t"].error is None
    assert len(rsps.calls) == 2
    assert list(body_of(rsps.calls[1])["cmd"].values()) == ["user.current"]
    assert client.stats.retries == 1 and clock.sleeps


def test_transient_write_command_error_is_outcome_unknown_and_not_resent(rsps, make_client):
    rsps.add_callback("POST", url("batch"), callback=callback(
        fail=("task.commentitem.add",),
        errors={"task.commentitem.add": {"error": "INTERNAL_SERVER_ERROR", "error_description": ""}}))
    items = make_client().batch({"w": ("task.commentitem.add", {"TASKID": 1})})
    assert isinstance(items["w"].error, OutcomeUnknown)
    assert len(rsps.calls) == 1


def test_outer_request_of_write_batch_lost_raises_outcome_unknown(rsps, make_client):
    rsps.post(url("batch"), body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown):
        make_client().batch({"r": ("user.current", {}), "w": ("im.message.add", {"DIALOG_ID": 1, "MESSAGE": "x"})})
    assert len(rsps.calls) == 1


def test_outer_request_of_read_batch_is_retried(rsps, make_client):
    rsps.post(url("batch"), status=503, body="<html>busy</html>")
    rsps.add_callback("POST", url("batch"), callback=callback())
    items = make_client().batch({"r": ("user.current", {})})
    assert items["r"].result["method"] == "user.current"
    assert len(rsps.calls) == 2


def test_outer_failure_after_retries_raises(rsps, make_client):
    rsps.post(url("batch"), status=500, json={"error": "INTERNAL_SERVER_ERROR"})
    with pytest.raises(RetryableError):
        make_client(max_attempts=2).batch({"r": ("user.current", {})})


def test_budget_blocked_method_not_sent_in_batch(rsps, make_client, clock):
    rsps.add_callback("POST", url("batch"), callback=callback(
        fail=("tasks.task.history.list",),
        errors={"tasks.task.history.list": {"error": "OPERATION_TIME_LIMIT", "error_description": "blocked"}}))
    client = make_client()
    first = client.batch({"h": ("tasks.task.history.list", {"taskId": 1})})
    assert isinstance(first["h"].error, BudgetExceeded) and first["h"].error.reset_at
    second = client.batch({"h": ("tasks.task.history.list", {"taskId": 2}), "u": ("user.current", {})})
    assert isinstance(second["h"].error, BudgetExceeded)
    assert list(body_of(rsps.calls[-1])["cmd"].values()) == ["user.current"]


def test_batchitem_unwrap():
    assert BatchItem(result=5).unwrap() == 5
    with pytest.raises(RequestError):
        BatchItem(error=RequestError("X")).unwrap()


def test_bad_command_shape(make_client):
    with pytest.raises(ValueError):
        make_client().batch({"a": ("user.current",)})


def test_direct_batch_call_infers_write_from_commands(rsps, make_client):
    rsps.post(url("batch"), body=requests.exceptions.ReadTimeout("read timed out"))
    client = make_client()
    with pytest.raises(OutcomeUnknown):
        client.call("batch", {"halt": 0, "cmd": {"a": "im.message.add?DIALOG_ID=1&MESSAGE=x"}})
    assert len(rsps.calls) == 1
    rsps.replace("POST", url("batch"), body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransportError):
        make_client(max_attempts=2).call("batch", {"halt": 0, "cmd": {"a": "user.current"}})
    assert len(rsps.calls) == 3
