"""The client every command builds (app.make_client) is paced under the plan; the benchmark uses the same one."""
from b24mirror.app import make_client
from b24mirror.config import validate


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
