"""What a run costs in requests, pinned on a small world (3 groups x 120 tasks, the benchmark's builder).

Counted by the fake portal (`stats.requests`, and its log of the commands each request carried); never
timing. Each count says which requests make it, so a change that adds one names what it added.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from b24mirror.config.load import validate
from b24mirror.fakeportal import serve
from b24mirror.sync import SyncOptions
from tests import bench


class World:
    def __init__(self, tmp) -> None:
        self.clock = bench.VirtualClock(SimpleNamespace(value=0.0))
        self.portal, self.info = bench.build_world(bench.Shape("small", groups=3, tasks=120), self.clock)
        self.server = serve(self.portal, port=0)
        self.tmp = tmp
        self.webhook = self.server.webhook_url(self.info["me"], self.info["secret"])

    def config(self, **top):
        return validate({"portal": {"webhook": self.webhook, "plan": "standard"}, "language": "en",
                         "state_file": str(self.tmp / "state.json"), **top,
                         "groups": [{"id": g["id"], "master_task": g["master_task"], "depth": 2}
                                    for g in self.info["groups"]]}, base_dir=self.tmp, environ={})

    def run(self, **top) -> list[dict]:
        """One cron run, 5 minutes after the last: the commands of each request the portal received."""
        from b24mirror.app import run_sync

        config = self.config(**top)
        self.clock.advance(bench.CRON_PERIOD)
        self.portal.reset_stats()
        reports = run_sync(config, SyncOptions(), client=bench.make_client(config, self.clock))
        assert all(r.ok for r in reports), [r.error for r in reports]
        requests = bench.requests_made(self.portal.request_log)
        assert len(requests) == self.portal.stats.requests
        return requests

    def subtask(self, group: int) -> int:
        g = self.info["groups"][group]
        return next(t.id for t in self.portal.tasks.values()
                    if t.group_id == g["id"] and t.parent_id == g["master_task"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("requests"))
    w.first_sync = w.run()
    yield w
    w.server.shutdown()


def test_a_first_sync_posts_every_groups_start_note_in_one_request(world):
    """listings (masters, first pages); the full listings' later pages; the masters read along (a lost state's
    mirrors or start note); the three start notes, carrying each group's baseline, in one request."""
    assert len(world.first_sync) == 4, world.first_sync
    *_, read_along, notes = world.first_sync
    assert read_along == {"task.commentitem.getlist": 3}
    assert notes == {"task.commentitem.add": 3}


def test_a_quiet_run_is_one_request_with_every_group_sweeping(world):
    """Masters and listings of the 3 groups, and the later pages of each sweep's full listing, in one batch."""
    requests = world.run(sweep_every=1)
    assert len(requests) == 1, requests
    assert requests[0]["tasks.task.list"] == 3 * 3  # 120 tasks: three pages a group


def test_news_in_three_groups_cost_four_requests(world):
    """listings; the details' first batch (chat look-ups, members, ancestors, history, results, the masters read
    back); the talk with the members as users; the posts."""
    world.run()  # whatever the sweep above left
    for group in range(3):
        task = world.subtask(group)
        world.portal.add_comment(task, world.portal.tasks[task].created_by, f"news in group {group}")
    requests = world.run()
    assert len(requests) == 4, requests
    listings, first, talk, posts = requests
    assert first["tasks.task.get"] == 3 and first["sonet_group.user.get"] == 3  # look-ups, members
    assert first["task.commentitem.getlist"] == 3  # the masters read back, before any post
    assert talk == {"task.commentitem.getlist": 3, "user.get": 1}
    assert posts == {"task.commentitem.add": 3}


def test_history_is_asked_only_of_a_task_whose_fields_changed(world):
    """A comment by the task's own creator moves only activityDate and commentsCount: its history holds
    nothing to plan from. A status change moves changedDate: its history is read."""
    talked, changed = world.subtask(0), world.subtask(1)
    world.portal.add_comment(talked, world.portal.tasks[talked].created_by, "talk only")
    world.portal.set_status(changed, 5, by=world.portal.tasks[changed].created_by)
    requests = world.run()
    asked = [entry.params for entry in world.portal.request_log if entry.method == "tasks.task.history.list"]
    assert [int(p["taskId"]) for p in asked] == [changed], requests
