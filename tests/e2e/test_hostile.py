"""Hostile input: a malformed config, a corrupt or future state file, malformed portal answers.

Each must end in one clear message and a documented exit code, never a traceback, and must cost
nothing: once the input is sane again, the next run mirrors every item exactly once.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

from b24mirror.policy.models import find_markers
from b24mirror.state import read_state

pytestmark = pytest.mark.e2e


def _clean_failure(result, *codes):
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode in codes, (result.returncode, output)
    assert result.stderr.strip(), "a failure must say what happened"


# --- configuration ------------------------------------------------------------------------------

BAD_CONFIGS = {
    "groups not a list": "portal: {{webhook: '{hook}'}}\ngroups: 'group 42 please'\n",
    "id a string": "portal: {{webhook: '{hook}'}}\ngroups:\n  - {{id: forty-two, master_task: 1001}}\n",
    "depth out of range": "portal: {{webhook: '{hook}'}}\ngroups:\n  - {{id: 4, master_task: 1001, depth: 7}}\n",
    "booleans and lists mixed up": ("portal: {{webhook: '{hook}', read_timeout: [1, 2], burst: true}}\n"
                                    "groups:\n  - {{id: 4, master_task: 1001, rules: {{hide: 5, exclude_authors: x}}}}\n"),
    "portal a list": "portal: [1, 2, 3]\ngroups:\n  - {{id: 4, master_task: 1001}}\n",
    "top level a list": "- portal\n- groups\n",
    "a bad regex": "portal: {{webhook: '{hook}'}}\ngroups:\n  - {{id: 4, master_task: 1001, rules: {{hide: ['(unclosed']}}}}\n",
    "not YAML": "portal: {{webhook: '{hook}'\ngroups: [\n",
    "anchor bomb": (
        "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
        "portal: {{webhook: '{hook}'}}\ngroups: *i\n"),
    "anchor bomb in a key's value": (
        "x: &x [1,2,3,4,5,6,7,8,9,10]\ny: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x,*x]\nz: &z [*y,*y,*y,*y,*y,*y,*y,*y,*y,*y]\n"
        "w: &w [*z,*z,*z,*z,*z,*z,*z,*z,*z,*z]\nv: &v [*w,*w,*w,*w,*w,*w,*w,*w,*w,*w]\n"
        "portal: {{webhook: '{hook}'}}\nstate_file: *v\ngroups:\n  - {{id: 4, master_task: 1001, rules: {{hide: *v}}}}\n"),
    "a python tag": "portal: !!python/object/apply:os.system ['echo pwned']\ngroups: []\n",
    "a recursive alias": "portal: &p {{webhook: '{hook}', self: *p}}\ngroups:\n  - {{id: 4, master_task: 1001}}\n",
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_malformed_config_is_one_clear_message(world, name):
    hook = world.server.webhook_url(world.me, world.secret)
    world.config_path = world.tmp / "b24mirror.yaml"
    world.config_path.write_text(BAD_CONFIGS[name].format(hook=hook))
    result = world.run("sync", check=False)
    _clean_failure(result, 2)
    assert "b24mirror.yaml" in result.stderr or "problem" in result.stderr
    assert world.secret not in result.stdout + result.stderr
    assert world.mirrors() == [] and not world.state_path.exists()


@pytest.mark.parametrize("payload", [
    b"\x00\x01\x02\xff\xfe binary \x89PNG\r\n\x1a\n",
    "portal: {webhook: x}\n".encode("utf-16"),
    b"",
    b"\xef\xbb\xbf" + b"# only a comment\n",
    b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
])
def test_binary_empty_or_deep_config_is_one_clear_message(world, payload):
    world.config_path = world.tmp / "b24mirror.yaml"
    world.config_path.write_bytes(payload)
    result = world.run("sync", check=False)
    _clean_failure(result, 2)


def test_a_huge_config_is_refused(world):
    world.config_path = world.tmp / "b24mirror.yaml"
    world.config_path.write_text("# padding\n" * 200_000)
    result = world.run("sync", check=False)
    _clean_failure(result, 2)
    assert "too large" in result.stderr


# --- the state file -------------------------------------------------------------------------------

STATES = {
    "truncated": lambda good: good[: len(good) // 2],
    "empty": lambda good: b"",
    "binary": lambda good: b"\x00\xffSQLite format 3\x00",
    "a list": lambda good: b"[1, 2, 3]",
    "wrong types": lambda good: json.dumps({"version": 1, "groups": {"1": {"ledger": [], "runs": "many"}}}).encode(),
    "a bad marker": lambda good: json.dumps({"version": 1, "groups": {"1": {"ledger": {"b24m:x": {}}}}}).encode(),
    "NaN": lambda good: b'{"version": 1, "groups": {}, "x": NaN}',
    "deep nesting": lambda good: b'{"version": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.mark.parametrize("name", sorted(STATES))
def test_corrupt_state_stops_the_run_then_rebuild_loses_nothing(world, name):
    p = world.portal
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "first")
    world.run("sync")
    world.state_path.write_bytes(STATES[name](world.state_path.read_bytes()))
    c2 = p.add_comment(world.design, world.anna, "second")
    refused = world.run("sync", check=False)
    _clean_failure(refused, 4)
    assert "--rebuild-state" in refused.stderr
    assert len(world.mirrors()) == 1  # nothing was done
    world.run("sync", "--rebuild-state")
    world.run("sync")
    assert Counter(world.mirrors()) == Counter({f"b24m:comment:{world.design}:{c1}": 1,
                                                f"b24m:comment:{world.design}:{c2}": 1})


def test_a_state_file_from_a_newer_version_is_left_alone(world):
    world.run("sync")
    db = sqlite3.connect(world.state_path)
    db.execute("PRAGMA user_version = 99")  # as a newer b24mirror would stamp its schema
    db.close()
    future = world.state_path.read_bytes()
    for args in (("sync",), ("sync", "--rebuild-state")):
        result = world.run(*args, check=False)
        _clean_failure(result, 4)
        assert "newer" in result.stderr
    assert world.state_path.read_bytes() == future  # neither rebuilt nor moved aside
    assert not list(world.tmp.glob("state.json.corrupt-*"))


# --- the portal's answers -------------------------------------------------------------------------

class Proxy:
    """Between b24mirror and the fake portal: forwards every request, and spoils the answers a rule picks.

    A rule is (match, spoil): match(method, request_text) says whether to spoil this answer;
    spoil(status, content_type, body_bytes) returns what b24mirror gets instead. The request
    still reaches the portal, so a spoiled answer to a write is a write that happened.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list = []
        self.spoiled = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = requests.post(proxy.upstream + self.path, data=body,
                                      headers={"Content-Type": self.headers.get("Content-Type", "")}, timeout=30)
                status, ctype, data = reply.status_code, reply.headers.get("Content-Type", ""), reply.content
                method = urlsplit(self.path).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json")
                text = body.decode("utf-8", "replace")
                for match, spoil in proxy.rules:
                    if match(method, text):
                        status, ctype, data = spoil(status, ctype, data)
                        proxy.spoiled += 1
                        break
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxied(world):
    hook = world.server.webhook_url(world.me, world.secret)
    parts = urlsplit(hook)
    proxy = Proxy(f"{parts.scheme}://{parts.netloc}")
    world.write_config()
    text = world.config_path.read_text().replace(f"{parts.scheme}://{parts.netloc}", proxy.base)
    # Retries of an answer that stays malformed end at the run's deadline: short, yet long enough that the
    # first attempt is always answered before it, however loaded the machine.
    text = text.replace("read_timeout: 5", "read_timeout: 5\n  run_deadline: 8")
    world.config_path.write_text(text)
    yield world, proxy
    proxy.close()


def _json_spoil(change):
    def spoil(status, ctype, data):
        body = json.loads(data)
        return status, "application/json", json.dumps(change(body)).encode()
    return spoil


# name -> (match, spoil, exit code, what stderr must say). A batch answer that is not JSON, or not an
# envelope, is retried until the run's deadline, then its group fails naming the last error; an envelope
# without the command's result fails the group naming the command. A null result is not the documented
# "missing or hidden" answer ([]): the group fails, and must say the answer was malformed, not send the
# operator to check a master_task that is fine.
# Which check meets the deadline first (the wait before the next attempt, the start of that attempt, or a
# read cut short by it) depends on the machine's speed; each names the deadline and the last error.
NOT_JSON_AT_DEADLINE = "FAILED: batch: DEADLINE: "
PORTAL_ANSWERS = {
    # whole-request answers
    "batch: plain text": (lambda m, t: m == "batch",
                          lambda s, c, d: (200, "text/plain", b"Service temporarily unavailable"),
                          1, [NOT_JSON_AT_DEADLINE, "last error: batch: NOT_JSON: the portal answered text/plain, not JSON"]),
    "batch: an HTML 502 page": (lambda m, t: m == "batch",
                                lambda s, c, d: (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
                                1, [NOT_JSON_AT_DEADLINE, "last error: batch: NOT_JSON: the portal answered text/html, not JSON"]),
    "batch: truncated JSON": (lambda m, t: m == "batch", lambda s, c, d: (200, "application/json", d[: len(d) // 2]),
                              1, [NOT_JSON_AT_DEADLINE, "last error: batch: NOT_JSON: the portal answered application/json, not JSON"]),
    "batch: result is a list": (lambda m, t: m == "batch", _json_spoil(lambda b: {**b, "result": [1, 2, 3]}),
                                1, ["FAILED: tasks.task.get: BATCH_RESULT_MISSING"]),
    "batch: result is a string": (lambda m, t: m == "batch", _json_spoil(lambda b: {**b, "result": "ok"}),
                                  1, ["FAILED: tasks.task.get: BATCH_RESULT_MISSING"]),
    "batch: no result key": (lambda m, t: m == "batch", _json_spoil(lambda b: {"time": b.get("time", {})}),
                             1, ["FAILED: tasks.task.get: BATCH_RESULT_MISSING"]),
    "batch: JSON null": (lambda m, t: m == "batch", lambda s, c, d: (200, "application/json", b"null"),
                         1, [NOT_JSON_AT_DEADLINE, "last error: batch: BAD_ENVELOPE: unexpected answer: 'None' (HTTP 200)"]),
    "batch: results are all null": (lambda m, t: m == "batch", _json_spoil(
        lambda b: {**b, "result": {**b["result"], "result": {k: None for k in b["result"].get("result", {})}}}),
        1, ["FAILED: tasks.task.get: BAD_ANSWER: malformed answer"]),
}


def _batch_item_spoiler(method, replace):
    """(match, spoil) that replaces the batch results of every `method` command via replace(old)."""
    state = {}

    def match(outer, text):
        if outer != "batch":
            return False
        try:
            cmd = json.loads(text).get("cmd", {})
        except ValueError:
            return False
        keys = [key for key, value in cmd.items() if str(value).split("?", 1)[0] == method]
        state["keys"] = keys
        return bool(keys)

    def spoil(status, ctype, data):
        body = json.loads(data)
        results = body.get("result", {}).get("result", {})
        for key in state.get("keys", []):
            if key in results:
                results[key] = replace(results[key])
        return status, "application/json", json.dumps(body).encode()

    return match, spoil


def _rows_of(value):
    return list(value.values()) if isinstance(value, dict) else list(value or [])


# name -> (method, replace, exit code, what stderr must say). A malformed comment list or history of one
# task is a warning naming the task and the method (that task waits, the group goes on: exit 0); a
# malformed answer the whole group needs (its task list, master, members, authors) fails the group
# (exit 1), naming the method. {design} and {drawings} are the two tasks the activity writes in.
ITEM_ANSWERS = {
    "comments: wrong types": ("task.commentitem.getlist", lambda old: [
        {**row, "ID": "abc", "AUTHOR_ID": {"x": 1}, "POST_DATE": 12} for row in _rows_of(old)] or [{"ID": "abc"}],
        0, ["warning: tasks {design}, {drawings}: task.commentitem.getlist: BAD_ANSWER: malformed answer (ValueError: invalid "
            "literal for int() with base 10: 'abc')"]),
    "comments: missing keys": ("task.commentitem.getlist", lambda old: [{"POST_MESSAGE": "who am I"}],
                               0, ["warning: tasks {design}, {drawings}: task.commentitem.getlist: BAD_ANSWER: malformed answer "
                                   "(KeyError: 'ID')"]),
    "comments: a string": ("task.commentitem.getlist", lambda old: "comments",
                           0, ["warning: tasks {design}, {drawings}: task.commentitem.getlist: BAD_ANSWER: malformed answer "
                               "(ValueError: comments is str, not a list)"]),
    "comments: rows are lists": ("task.commentitem.getlist", lambda old: [[1, 2], [3]],
                                 0, ["warning: tasks {design}, {drawings}: task.commentitem.getlist: BAD_ANSWER: malformed answer "
                                     "(ValueError: comments holds rows that are not objects)"]),
    "history: missing ids": ("tasks.task.history.list", lambda old: {"list": [{"field": "STATUS"}]},
                             0, ["warning: tasks {design}, {drawings}: tasks.task.history.list: BAD_ANSWER: malformed answer "
                                 "(KeyError: 'id')"]),
    "history: wrong shape": ("tasks.task.history.list", lambda old: {"list": "nothing"},
                             0, ["warning: tasks {design}, {drawings}: tasks.task.history.list: BAD_ANSWER: malformed answer "
                                 "(ValueError: history is str, not a list)"]),
    "history: a number": ("tasks.task.history.list", lambda old: 42,
                          0, ["warning: tasks {design}, {drawings}: tasks.task.history.list: BAD_ANSWER: malformed answer "
                              "(ValueError: a history answer is int, not an object)"]),
    "tasks: rows without ids": ("tasks.task.list", lambda old: {"tasks": [{"title": "no id"}]},
                                1, ["FAILED: tasks.task.list: BAD_ANSWER: malformed answer (KeyError: 'id')"]),
    "tasks: a string": ("tasks.task.list", lambda old: "tasks",
                        1, ["FAILED: tasks.task.list: BAD_ANSWER: malformed answer (ValueError: a task list is str, "
                            "not an object)"]),
    # Not the documented "missing or hidden" answer ([]): a malformed answer, not a missing master.
    "task: task is a list": ("tasks.task.get", lambda old: {"task": [1, 2]},
                             1, ["FAILED: tasks.task.get: BAD_ANSWER: malformed answer"]),
    "task: bad ids": ("tasks.task.get", lambda old: {"task": {**old.get("task", {}), "id": "x", "groupId": []}}
                      if isinstance(old, dict) else old,
                      1, ["FAILED: tasks.task.get: BAD_ANSWER: malformed answer (ValueError: invalid literal for "
                          "int() with base 10: 'x')"]),
    "members: wrong shape": ("sonet_group.user.get", lambda old: {"USER_ID": "x"},
                             1, ["FAILED: sonet_group.user.get: BAD_ANSWER: malformed answer (ValueError: members "
                                 "holds rows that are not objects)"]),
    "members: rows without ids": ("sonet_group.user.get", lambda old: [{"ROLE": "K"}],
                                  1, ["FAILED: sonet_group.user.get: BAD_ANSWER: malformed answer (KeyError: "
                                      "'USER_ID')"]),
    "users: wrong shape": ("user.get", lambda old: [{"NAME": "nobody"}, "x", 5],
                           1, ["FAILED: user.get: BAD_ANSWER: malformed answer (KeyError: 'ID')"]),
}


def _says_exactly(world, result, code, messages):
    """The exit code, and every expected message in stderr; never the secret, never a traceback."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == code, (result.returncode, output)
    for message in messages:
        assert message.format(design=world.design, drawings=world.drawings, group=world.group) in result.stderr, output
    assert "does not exist" not in result.stderr, output  # a spoiled answer is never a missing master
    assert world.secret not in output


def _activity(world):
    p = world.portal
    return [
        p.add_comment(world.design, world.anna, "first comment"),
        p.add_comment(world.drawings, world.boris, "second comment"),
    ]


def _expected(world, ids):
    design, drawings = ids
    return Counter({f"b24m:comment:{world.design}:{design}": 1, f"b24m:comment:{world.drawings}:{drawings}": 1})


def _judge_recovery(world, proxy, ids):
    proxy.rules.clear()
    world.run("sync")
    world.run("sync")
    found = Counter(world.mirrors())
    assert found == _expected(world, ids), found


@pytest.mark.parametrize("name", sorted(PORTAL_ANSWERS))
def test_malformed_portal_answers_are_reported_and_cost_nothing(proxied, name):
    world, proxy = proxied
    world.run("sync")
    ids = _activity(world)
    match, spoil, code, messages = PORTAL_ANSWERS[name]
    proxy.rules.append((match, spoil))
    result = world.run("sync", check=False)
    assert proxy.spoiled
    _says_exactly(world, result, code, messages)
    _judge_recovery(world, proxy, ids)


@pytest.mark.parametrize("name", sorted(ITEM_ANSWERS))
def test_malformed_items_in_a_batch_are_reported_and_cost_nothing(proxied, name):
    world, proxy = proxied
    world.run("sync")
    ids = _activity(world)
    method, replace, code, messages = ITEM_ANSWERS[name]
    if method == "tasks.task.history.list":  # read only of a task whose fields changed: an observer added is one
        for task in (world.design, world.drawings):
            world.portal.add_auditor(task, world.oscar, by=world.anna)
    proxy.rules.append(_batch_item_spoiler(method, replace))
    result = world.run("sync", check=False)
    assert proxy.spoiled
    _says_exactly(world, result, code, messages)
    _judge_recovery(world, proxy, ids)


WRITE_ANSWERS = {
    "post: result not a number": lambda s, c, d: (200, "application/json", b'{"result": "done", "time": {}}'),
    "post: result missing": lambda s, c, d: (200, "application/json", b'{"time": {}}'),
    "post: result null": lambda s, c, d: (200, "application/json", b'{"result": null}'),
    "post: result a list": lambda s, c, d: (200, "application/json", b'{"result": [7]}'),
    "post: HTML page": lambda s, c, d: (502, "text/html", b"<html>Bad gateway</html>"),
    "post: plain text 200": lambda s, c, d: (200, "text/plain", b"OK"),
}


@pytest.mark.parametrize("name", sorted(WRITE_ANSWERS))
def test_malformed_answers_to_posts_duplicate_nothing(proxied, name):
    """The post reached the portal; only its answer is spoiled. The master itself must settle it."""
    world, proxy = proxied
    world.run("sync")
    ids = _activity(world)
    proxy.rules.append((lambda m, t: "task.commentitem.add" in m + t, WRITE_ANSWERS[name]))
    result = world.run("sync", check=False)
    assert proxy.spoiled
    # The post reached the portal: the master is read back, both mirrors are found there, the run is good.
    _says_exactly(world, result, 0, ["group {group}: 2 comments mirrored"])
    _judge_recovery(world, proxy, ids)


@pytest.mark.parametrize("answer", [0, -3])
def test_a_post_answered_with_an_id_that_is_no_comment_is_settled_by_the_master(proxied, answer):
    """The posts landed, but each answer is an id no comment has: the ledger records the ids the master
    shows, never the answer's (an update or a repair would aim at a comment that does not exist)."""
    world, proxy = proxied
    world.run("sync")
    ids = _activity(world)
    proxy.rules.append(_batch_item_spoiler("task.commentitem.add", lambda old: answer))
    world.run("sync")
    assert proxy.spoiled
    actual = {str(m): c["id"] for c in world.portal.comments(world.master) if c["author_id"] == world.me
              for m in find_markers(c["text"])}
    ledger = read_state(world.state_path).group(world.group).ledger
    assert {key: entry["id"] for key, entry in ledger.items()} == actual
    _judge_recovery(world, proxy, ids)
