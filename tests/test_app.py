"""The client every command builds (app.make_client) is paced under the plan; the benchmark uses the same one."""
from b24mirror.app import make_client
from b24mirror.config.load import validate


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def config(tmp_path, **portal):
    return validate({"portal": {"webhook": "https://x.bitrix24.ru/rest/1/s3cr3t/", **portal},
                     "groups": [{"id": 1, "master_task": 2}]}, base_dir=tmp_path, environ={})


def test_the_commands_client_waits_once_the_plans_burst_is_spent(tmp_path):
    clock = Clock()
    client = make_client(config(tmp_path), clock=clock, sleep=clock.sleep, wall=clock)
    for _ in range(40):  # most of the standard plan's burst of 50 goes at once
        client.pacer.acquire("user.current")
    assert clock.now == 0.0
    for _ in range(30):  # then close to 2 requests a second
        client.pacer.acquire("user.current")
    assert 10.0 <= clock.now <= 18.0, clock.now


def test_the_configured_rate_reaches_the_client(tmp_path):
    clock = Clock()
    client = make_client(config(tmp_path, burst=5, per_second=1.0), clock=clock, sleep=clock.sleep, wall=clock)
    for _ in range(15):  # a burst of 5, then one a second
        client.pacer.acquire("user.current")
    assert 10.0 <= clock.now <= 14.0, clock.now


def test_the_bench_builds_its_client_with_the_commands_function():
    import tests.bench as bench

    assert bench.client_factory is make_client


def test_status_shows_quarantined_mirrors_and_pending_tasks(tmp_path):
    import io

    from b24mirror.app import group_statuses
    from b24mirror.cli.summary import print_statuses
    from b24mirror.state import open_state

    cfg = validate({"portal": {"webhook": "https://x.bitrix24.ru/rest/1/s3cr3t/"},
                    "state_file": str(tmp_path / "state.json"),
                    "groups": [{"id": 1, "master_task": 2}]}, base_dir=tmp_path, environ={})
    with open_state(cfg.state_file) as state:
        meta = state.group(1).meta
        meta["rejected"] = {"b24m:comment:5:6": {"count": 3, "error": "MESSAGE_TOO_LONG", "at": "x"},
                            "b24m:comment:5:7": {"count": 1, "error": "ONCE", "at": "x"}}
        meta["pending"] = [5, 8]
        state.save()
    [status] = group_statuses(cfg)
    assert [q["marker"] for q in status.quarantined] == ["b24m:comment:5:6"] and status.pending == 2
    out = io.StringIO()
    print_statuses([status], as_json=False, out=out)
    assert ("group 1: quarantined: b24m:comment:5:6, refused 3 times (MESSAGE_TOO_LONG); fix the cause, then run "
            "`b24mirror repair --group 1`") in out.getvalue()
    assert "group 1: 2 tasks partly done" in out.getvalue()
