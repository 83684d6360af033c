"""The benchmark's request targets on a small M-like portal (3 groups x 120 tasks), in the suite.

Counts the portal's own `stats.requests`; never timing. The full benchmark is `make bench`.
"""
from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from b24mirror.fakeportal import serve
from b24mirror.sync import SyncOptions
from tests import bench


class World:
    def __init__(self, tmp_path) -> None:
        self.clock = bench.VirtualClock(SimpleNamespace(value=0.0))
        shape = bench.Shape("M-small", groups=3, tasks=120)
        self.portal, self.info = bench.build_world(shape, self.clock)
        self.server = serve(self.portal, port=0)
        self.rng = random.Random(5)
        handle = SimpleNamespace(info={
            "webhook": self.server.webhook_url(self.info["me"], self.info["secret"]),
            "groups": [{"id": g["id"], "master_task": g["master_task"]} for g in self.info["groups"]],
        })
        self.config = bench.make_config(handle, tmp_path)

    def run(self, options: SyncOptions | None = None):
        """One cron run, 5 minutes after the last: (HTTP requests the portal received, reports)."""
        from b24mirror.app import run_sync

        self.clock.advance(bench.CRON_PERIOD)
        self.portal.reset_stats()
        reports = run_sync(self.config, options or SyncOptions(), client=bench.make_client(self.config, self.clock))
        assert all(r.ok for r in reports), [r.error for r in reports]
        assert self.portal.stats.rejected_503 == 0
        return self.portal.stats.requests, reports


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.server.shutdown()


def test_request_targets_on_a_small_m_like_portal(world):
    world.run()  # first sync
    requests, reports = world.run()
    assert requests <= 3, f"a run in which nothing changed took {requests} requests"
    assert not any(r.posted for r in reports)

    changed = bench.change_some(world.portal, world.info, 0.01, world.rng)
    requests, reports = world.run()
    assert requests <= 12, f"a run after {changed} task(s) changed took {requests} requests"
    assert sum(sum(r.posted.values()) for r in reports) >= 1

    # An hour of quiet cron runs, every group's sweep included: the floor stays low.
    hour = [world.run()[0] for _ in range(12)]
    assert max(hour) <= 3, hour


def test_a_task_with_more_than_a_page_of_news_is_read_on(world):
    """A forum list that fills a page (50) is asked again; every comment is mirrored once."""
    world.run()
    group = world.info["groups"][0]
    task = next(t.id for t in world.portal.tasks.values()
                if t.group_id == group["id"] and t.parent_id == group["master_task"])
    for n in range(60):
        world.portal.add_comment(task, group["members"][0], f"note {n}")
    requests, reports = world.run()
    posted = {r.group_id: r.posted.get("comment", 0) for r in reports}
    assert posted[group["id"]] == 60
