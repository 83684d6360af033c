import json
from urllib.parse import parse_qsl

import pytest

from b24mirror.bitrix import IncompleteList, RequestError, RetryableError, TransportError

from .helpers import body_of, ok, url


class ListPortal:
    """tasks.task.list over `rows` ids, answering direct calls and batch commands like the portal."""

    def __init__(self, n, *, items_key="tasks", id_key="id"):
        self.ids = list(range(1, n + 1))
        self.items_key, self.id_key = items_key, id_key
        self.fail_starts: dict[int, dict] = {}
        self.on_page = None  # hook(start) to mutate ids while paging
        self.seen_starts: list[int] = []
        self.keyset_calls: list[dict] = []

    def page(self, params):
        start = int(params.get("start", 0))
        self.seen_starts.append(start)
        if self.on_page:
            self.on_page(start)
        ids = self.ids
        gt = params.get("filter", {}).get(">ID")
        if gt is not None:
            ids = [i for i in ids if i > int(gt)]
        if start == -1:
            self.keyset_calls.append(params)
            rows = ids[:50]
            return {"result": self._wrap(rows)}
        start = start // 50 * 50
        rows = ids[start:start + 50]
        out = {"result": self._wrap(rows), "total": len(ids)}
        if start + 50 < len(ids):
            out["next"] = start + 50
        return out

    def _wrap(self, rows):
        items = [{self.id_key: str(i)} for i in rows]
        return {self.items_key: items} if self.items_key else items

    def direct(self, request):
        return 200, {}, json.dumps(ok(None) | self.page(json.loads(request.body)))

    def batch(self, request):
        cmd = json.loads(request.body)["cmd"]
        res, errs, totals, nexts = {}, {}, {}, {}
        for key, value in cmd.items():
            _, _, query = value.partition("?")
            params = _nest(dict(parse_qsl(query)))
            start = int(params.get("start", 0))
            if start in self.fail_starts:
                errs[key] = self.fail_starts[start]
                continue
            page = self.page(params)
            res[key] = page["result"]
            totals[key] = page.get("total")
            if "next" in page:
                nexts[key] = page["next"]
        return 200, {}, json.dumps(ok({"result": res or [], "result_error": errs or [], "result_total": totals or [],
                                       "result_next": nexts or [], "result_time": []}))

    def install(self, rsps, method="tasks.task.list"):
        rsps.add_callback("POST", url(method), callback=self.direct)
        rsps.add_callback("POST", url("batch"), callback=self.batch)


def _nest(flat):
    out = {}
    for key, value in flat.items():
        if "[" in key:
            head, rest = key.split("[", 1)
            out.setdefault(head, {})[rest.rstrip("]")] = value
        else:
            out[key] = value
    return out


def test_list_all_fetches_remaining_pages_in_batches(rsps, make_client):
    portal = ListPortal(2000)
    portal.install(rsps)
    client = make_client()
    rows = client.list_all("tasks.task.list", {"filter": {"GROUP_ID": 5}}, items_key="tasks", id_key="id")
    assert [int(r["id"]) for r in rows] == list(range(1, 2001))
    assert client.stats.requests == 1 + 1  # first page, then 39 pages in one batch request
    assert len(body_of(rsps.calls[1])["cmd"]) == 39
    assert client.stats.batch_commands == 39


def test_list_all_single_page_and_empty(rsps, make_client):
    portal = ListPortal(7, items_key=None, id_key="ID")
    portal.install(rsps, "user.get")
    assert len(make_client().list_all("user.get")) == 7
    rsps.post(url("tasks.task.list"), json=ok([], total=0))
    assert make_client().list_all("tasks.task.list", items_key="tasks") == []  # [] where {} is meant


def test_list_all_page_failure_is_an_error_not_a_short_list(rsps, make_client):
    portal = ListPortal(300)
    portal.fail_starts[150] = {"error": "ERROR_CORE", "error_description": "boom"}
    portal.install(rsps)
    with pytest.raises(RequestError) as info:
        make_client().list_all("tasks.task.list", items_key="tasks", id_key="id")
    assert info.value.method == "tasks.task.list"


def test_list_all_transient_page_failure_retried(rsps, make_client):
    portal = ListPortal(300)
    portal.fail_starts[100] = {"error": "QUERY_LIMIT_EXCEEDED", "error_description": ""}
    original = portal.batch

    def heal(request):
        out = original(request)
        portal.fail_starts.clear()
        return out

    portal.batch = heal
    portal.install(rsps)
    rows = make_client().list_all("tasks.task.list", items_key="tasks", id_key="id")
    assert len(rows) == 300
    assert len(rsps.calls) == 3  # first page, the batch, the failed page again


def test_list_all_persistent_transient_failure_raises(rsps, make_client):
    portal = ListPortal(300)
    portal.fail_starts[100] = {"error": "INTERNAL_SERVER_ERROR", "error_description": ""}
    portal.install(rsps)
    with pytest.raises(RetryableError):
        make_client(max_attempts=3).list_all("tasks.task.list", items_key="tasks", id_key="id")


def test_list_all_dedupes_and_relists_when_set_shifts(rsps, make_client):
    portal = ListPortal(200)
    shifted = {"done": False}

    def insert_at_front(start):
        if start == 100 and not shifted["done"]:  # a row appears at the front mid-paging: offsets shift
            shifted["done"] = True
            portal.ids.insert(0, 0)

    portal.on_page = insert_at_front
    portal.install(rsps)
    rows = make_client().list_all("tasks.task.list", items_key="tasks", id_key="id")
    ids = [int(r["id"]) for r in rows]
    assert sorted(ids) == list(range(0, 201)) and len(set(ids)) == len(ids)


def test_list_all_never_stable_raises_incomplete(rsps, make_client):
    portal = ListPortal(200)
    counter = {"n": 1000}

    def always_grow(start):
        if start == 100:
            counter["n"] += 1
            portal.ids.insert(0, counter["n"] * -1)

    portal.on_page = always_grow
    portal.install(rsps)
    with pytest.raises(IncompleteList):
        make_client().list_all("tasks.task.list", items_key="tasks", id_key="id")


def test_list_all_total_without_rows_is_not_complete(rsps, make_client):
    rsps.post(url("user.get"), json=ok([{"ID": "1"}], total=5))
    with pytest.raises(IncompleteList):
        make_client().list_all("user.get")


def test_list_all_without_total_follows_next(rsps, make_client):
    rsps.post(url("x.list"), json=ok([{"ID": str(i)} for i in range(50)], next=50))
    rsps.post(url("x.list"), json=ok([{"ID": str(i)} for i in range(49, 60)]))
    rows = make_client().list_all("x.list")
    assert len(rows) == 60
    assert body_of(rsps.calls[1])["start"] == 50


def test_bad_page_shape(rsps, make_client):
    rsps.post(url("tasks.task.list"), json=ok("nonsense", total=1))
    with pytest.raises(TransportError):
        make_client(max_attempts=1).list_all("tasks.task.list", items_key="tasks")


def test_list_keyset(rsps, make_client):
    portal = ListPortal(1234, items_key="tasks", id_key="id")
    portal.install(rsps)
    client = make_client()
    rows = client.list_keyset("tasks.task.list", {"filter": {"GROUP_ID": 5}}, items_key="tasks", id_key="id")
    assert [int(r["id"]) for r in rows] == list(range(1, 1235))
    assert len(portal.keyset_calls) == 25  # 24 full pages and one short
    first, second = portal.keyset_calls[0], portal.keyset_calls[1]
    assert first["order"] == {"ID": "ASC"} and first["start"] == -1 and ">ID" not in first["filter"]
    assert second["filter"] == {"GROUP_ID": 5, ">ID": "50"} or second["filter"] == {"GROUP_ID": 5, ">ID": 50}


def test_list_keyset_exact_multiple_of_page(rsps, make_client):
    ListPortal(100, items_key=None, id_key="ID").install(rsps, "user.get")
    assert len(make_client().list_keyset("user.get")) == 100


def test_list_keyset_no_progress_raises(rsps, make_client):
    rsps.post(url("user.get"), json=ok([{"ID": "5"}] * 50))
    with pytest.raises(IncompleteList):
        make_client().list_keyset("user.get")


def test_list_keyset_page_failure_raises(rsps, make_client):
    rsps.post(url("user.get"), json=ok([{"ID": str(i)} for i in range(1, 51)]))
    rsps.post(url("user.get"), status=400, json={"error": "ERROR_CORE", "error_description": "x"})
    with pytest.raises(RequestError):
        make_client().list_keyset("user.get")
