"""The client against the fake portal over real HTTP: flaky reads, a lost write, and the rate limit."""
import concurrent.futures
import time

import pytest

from b24mirror.bitrix import BitrixClient, OutcomeUnknown, RateLimit

fakeportal = pytest.importorskip("b24mirror.fakeportal")


@pytest.fixture
def world():
    portal = fakeportal.FakePortal(seed=7)
    uid = portal.add_user("Anna", "Mirror")
    secret = portal.add_webhook(uid, scopes=("task", "sonet_group", "user", "im"))
    gid = portal.add_group("Mirror group", owner_id=uid, members=[uid])
    server = fakeportal.serve(portal, port=0)
    try:
        yield portal, uid, gid, server.webhook_url(uid, secret)
    finally:
        server.shutdown()


def fast_client(webhook, **kw):
    """Real HTTP, but the backoff sleeps are cut short so the test stays quick."""
    kw.setdefault("rate", None)
    kw.setdefault("read_timeout", 5.0)
    kw.setdefault("max_attempts", 10)
    client = BitrixClient(webhook, sleep=lambda s: time.sleep(min(s, 0.01)), **kw)
    return client


def test_2000_rows_complete_with_30_percent_of_reads_failing(world):
    portal, uid, gid, webhook = world
    expected = {portal.add_task(f"Task {i}", created_by=uid, responsible_id=uid, group_id=gid) for i in range(2000)}
    # rules are tried in order: 0.1, then 0.1/0.9, then 0.1/0.8 -> 10% each, 30% of requests in all
    for kind, rate in (("503", 0.1), ("500", 0.1 / 0.9), ("html", 0.1 / 0.8)):
        portal.faults.add(kind, method="*", rate=rate)
    client = fast_client(webhook)
    try:
        rows = client.list_all("tasks.task.list", {"filter": {"GROUP_ID": gid}, "select": ["ID", "TITLE"]},
                               items_key="tasks", id_key="id")
        keyset = client.list_keyset("tasks.task.list", {"filter": {"GROUP_ID": gid}, "select": ["ID", "TITLE"]},
                                    items_key="tasks", id_key="id")
    finally:
        client.close()
    ids = [int(r["id"]) for r in rows]
    assert len(ids) == len(set(ids)) == 2000
    assert set(ids) == expected
    assert sorted(int(r["id"]) for r in keyset) == sorted(expected)
    # the faults really happened, at about the rate asked for
    assert client.stats.retries > 0
    assert set(portal.stats.faults_by_kind) == {"503", "500", "html"}
    assert 0.15 <= portal.stats.faults_injected / portal.stats.requests <= 0.45


def test_lost_response_write_raises_outcome_unknown_and_is_not_resent(world):
    portal, uid, gid, webhook = world
    tid = portal.add_task("Master", created_by=uid, responsible_id=uid, group_id=gid)
    portal.faults.add("lost_response", method="task.commentitem.add", count=1)
    client = fast_client(webhook)
    try:
        with pytest.raises(OutcomeUnknown):
            client.call("task.commentitem.add", {"TASKID": tid, "FIELDS": {"POST_MESSAGE": "mirrored once"}})
    finally:
        client.close()
    texts = [c["text"] for c in portal.comments(tid)]
    assert texts.count("mirrored once") == 1
    assert client.stats.requests == 1


SCALE = 20.0  # the limited portal's clock runs 20x: its bucket drains 40 requests per real second


@pytest.fixture
def limited():
    portal = fakeportal.FakePortal(seed=1, limits="standard", time_scale=SCALE)
    uid = portal.add_user("Burst", "Caller")
    secret = portal.add_webhook(uid)
    server = fakeportal.serve(portal, port=0)
    try:
        yield portal, server.webhook_url(uid, secret)
    finally:
        server.shutdown()


def burst(client, n=200, workers=8):
    def one(_):
        try:
            return client.call("user.current").result
        except Exception as exc:  # counted below
            return exc
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, range(n)))
    finally:
        client.close()


def test_burst_of_200_calls_gets_no_503(limited):
    portal, webhook = limited
    client = BitrixClient(webhook, rate=RateLimit(50, 2.0 * SCALE), max_attempts=1)
    results = burst(client)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert portal.stats.rejected_503 == 0
    assert client.stats.refused_503 == 0
    assert client.stats.waited_seconds > 0  # the pacing did the work, not luck


def test_without_pacing_the_same_burst_is_refused(limited):
    """The control experiment: the portal's limit is real, so the test above can fail."""
    portal, webhook = limited
    results = burst(BitrixClient(webhook, rate=None, max_attempts=1))
    assert portal.stats.rejected_503 > 0
    assert any(isinstance(r, Exception) for r in results)
