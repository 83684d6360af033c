import pytest

from b24mirror.bitrix import ENTERPRISE, STANDARD, BudgetExceeded, DeadlineExceeded, Pacer, RateLimit

from .helpers import FakeClock, err, ok, url


def test_plans():
    assert (STANDARD.burst, STANDARD.per_second) == (50, 2.0)
    assert (ENTERPRISE.burst, ENTERPRISE.per_second) == (250, 5.0)
    with pytest.raises(ValueError):
        RateLimit(0, 1.0)


def _simulate_portal(sends, burst, per_second):
    """The portal's bucket (counts only accepted requests): returns how many it would refuse."""
    level, last, refused = 0.0, None, 0
    for t in sends:
        if last is not None:
            level = max(0.0, level - (t - last) * per_second)
        last = t
        if level >= burst:
            refused += 1
            continue
        level += 1
    return refused


@pytest.mark.parametrize("rate", [STANDARD, ENTERPRISE, RateLimit(10, 0.5)])
def test_burst_of_calls_never_overflows_portal_bucket(rate):
    clock = FakeClock()
    pacer = Pacer(rate, clock=clock, sleep=clock.sleep)
    sends = []
    for _ in range(rate.burst * 4):
        pacer.acquire()
        sends.append(clock.now)
    assert _simulate_portal(sends, rate.burst, rate.per_second) == 0
    # and it is not absurdly slow: the first ~burst go at once, then close to the drain rate
    assert sends[rate.burst // 2] == sends[0]
    expected = (rate.burst * 4 - rate.burst) / rate.per_second
    assert expected <= sends[-1] - sends[0] <= expected * 1.3
    assert pacer.waited == pytest.approx(sum(clock.sleeps))


def test_no_rate_means_no_waiting():
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        pacer.acquire()
    assert clock.sleeps == []


def test_query_limit_exceeded_slows_down():
    clock = FakeClock()
    pacer = Pacer(RateLimit(10, 2.0), clock=clock, sleep=clock.sleep)
    pacer.acquire()
    before = pacer.drain
    pacer.refused()
    assert pacer.drain < before
    assert pacer.level >= pacer.capacity
    waited = pacer.acquire()
    assert waited > 0


def test_pacing_wait_respects_deadline():
    clock = FakeClock()
    pacer = Pacer(RateLimit(2, 0.1), clock=clock, sleep=clock.sleep)
    pacer.acquire(deadline=clock.now + 1)
    pacer.acquire(deadline=clock.now + 1)
    with pytest.raises(DeadlineExceeded):
        pacer.acquire(deadline=clock.now + 1)


def test_slows_down_as_operating_nears_budget():
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep, operating_budget=100.0)
    pacer.observe("tasks.task.history.list", {"operating": 10.0})
    pacer.acquire("tasks.task.history.list")
    pacer.acquire("tasks.task.history.list")
    assert clock.sleeps == []
    pacer.observe("tasks.task.history.list", {"operating": 90.0})
    pacer.acquire("tasks.task.history.list")
    assert clock.sleeps and clock.sleeps[-1] == pytest.approx(4.0)  # 80% of the way from 50% to 100% of 5 s
    pacer.acquire("tasks.task.get")  # other methods are not slowed
    assert len(clock.sleeps) == 1


def test_block_until_reset():
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep, wall=lambda: 5000.0 + clock.now)
    reset = pacer.block("tasks.task.list", reset_at=5000.0 + clock.now + 60)
    with pytest.raises(BudgetExceeded) as info:
        pacer.acquire("tasks.task.list")
    assert info.value.reset_at == reset
    clock.now += 61
    pacer.acquire("tasks.task.list")


def test_block_without_known_reset_waits_full_window():
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep, wall=lambda: 5000.0 + clock.now)
    pacer.block("im.message.add")
    clock.now += 599
    assert pacer.blocked("im.message.add")
    clock.now += 2
    assert not pacer.blocked("im.message.add")


def test_client_shares_pacer_and_feeds_back_refusals(rsps, make_client, clock):
    pacer = Pacer(RateLimit(5, 1.0), clock=clock, sleep=clock.sleep)
    a, b = make_client(pacer=pacer), make_client(pacer=pacer)
    rsps.post(url("user.current"), json=ok({"ID": "7"}))
    for _ in range(4):
        a.call("user.current")
        b.call("user.current")
    assert clock.sleeps  # 8 calls through one bucket of 5 (4 after headroom)
    assert a.stats.waited_seconds + b.stats.waited_seconds == pytest.approx(sum(clock.sleeps))
    rsps.replace("POST", url("user.current"), **err("QUERY_LIMIT_EXCEEDED", "", 503))
    rsps.add("POST", url("user.current"), json=ok({"ID": "7"}))
    drain = pacer.drain
    a.call("user.current")
    assert a.stats.refused_503 == 1 and pacer.drain < drain
    # operating time from responses reaches the pacer
    rsps.replace("POST", url("user.current"), json=ok({"ID": "7"}, time={"operating": 400.0, "operating_reset_at": 1}))
    a.call("user.current")
    assert pacer.operating_share("user.current") == pytest.approx(400 / 480)
