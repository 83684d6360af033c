"""Progress is kept as it is made: long chats, held-back posts, refused updates, unread ancestors."""
from __future__ import annotations

import contextvars

import pytest
from datetime import timedelta, timezone

from b24mirror.policy.models import PORTAL_TIMEZONE, BadDate, find_markers, parse_date
from b24mirror.sync.apply import POSTS_PER_REQUEST

from .conftest import Bed


def _comment_mirrors(bed: Bed, project) -> list[str]:
    return [m for m in bed.mirrors(project) if m.startswith(("b24m:comment:", "b24m:message:"))]


def test_a_chat_longer_than_one_runs_reading_arrives_over_several_runs(bed):
    project = bed.project("Build log", new_card=True)
    target = project.tasks[0]
    chat = bed.portal.chats[bed.portal.tasks[target].chat_id]
    bed.sync()
    bed.portal.add_comment(target, bed.anna, "the first")
    bed.sync(max_posts=5000)
    for n in range(2500):  # more than the 41 pages one run reads of a chat
        bed.portal.post_message(chat, bed.anna, f"build step {n}")
    for _ in range(3):
        bed.sync(max_posts=5000)
    mirrors = _comment_mirrors(bed, project)
    assert len(mirrors) == 2501 and len(set(mirrors)) == 2501


def test_held_back_posts_arrive_on_the_next_run_in_a_group_busier_than_a_page(bed):
    """Posts over the per-run cap wait one run, not for the hourly sweep, though a page of tasks with
    newer activity (and nothing to mirror) hides the held ones from the activity order: the tasks left
    partly done are read again by id."""
    project = bed.project("Busy", fillers=60)
    outsider = bed.portal.add_user("Oscar", "Outsider")
    bed.sync()
    bed.portal.advance(1200)  # the tree is older than the listings' overlap
    ids = {bed.portal.add_comment(task, bed.anna, f"news on {task}") for task in project.tasks[:11]}
    for task in project.tasks[11:]:
        bed.portal.add_comment(task, outsider, "not a member: nothing to mirror")
    bed.sync(max_posts=10)
    assert len(_comment_mirrors(bed, project)) == 10
    bed.sync(max_posts=10)
    assert sorted(int(m.rsplit(":", 1)[1]) for m in _comment_mirrors(bed, project)) == sorted(ids)
    assert bed.state().group(project.gid).meta.get("pending") == []


def test_a_quiet_run_does_not_forget_that_a_second_level_task_is_inside(bed):
    """Listed on a quiet run without its parent (not listed, not read): its place in the subtree stands,
    and its next change is not announced as a new subtask."""
    project = bed.project("Deep", fillers=60)
    parent = project.tasks[0]  # the oldest: last in the activity order
    child = bed.portal.add_task("Level two", created_by=bed.anna, group_id=project.gid, parent_id=parent,
                                auditors=(bed.me,))
    bed.sync()  # first sync: the whole tree
    bed.portal.advance(1200)  # the tree is older than the listings' overlap
    bed.portal.set_field(child, "TITLE", "Level two, renamed", by=bed.anna)  # changed after the baseline
    bed.sync()
    bed.sync()  # quiet: the child is listed (recently active), its parent is not
    bed.portal.add_comment(child, bed.anna, "and again")
    bed.sync()
    assert not [m for m in bed.mirrors(project) if m.startswith("b24m:subtask:")]
    assert len(_comment_mirrors(bed, project)) == 1


def test_a_mirror_that_can_no_longer_be_updated_does_not_wedge_its_group(bed):
    bed.sweep_every = 1  # an edit moves no date: the sweep finds it
    project = bed.project("Edits", new_card=True)
    target = project.tasks[0]
    chat = bed.portal.chats[bed.portal.tasks[target].chat_id]
    bed.sync(on_edit="update")
    message = bed.portal.post_message(chat, bed.anna, "first text")
    bed.sync(on_edit="update")
    mirror = next(m for m in bed.portal.chats[bed.portal.tasks[project.master].chat_id].messages
                  if m.author_id == bed.me and find_markers(m.text))
    bed.portal.delete_message(mirror)  # a person removed the mirror from the master
    bed.portal.edit_message(message, "second text")
    reports = bed.sync(on_edit="update")
    assert any("could not be updated" in w for w in reports[0].warnings)
    later = bed.portal.post_message(chat, bed.anna, "after the refusal")
    bed.sync(on_edit="update")
    assert f"b24m:message:{target}:{later.id}" in bed.mirrors(project)
    assert bed.state().group(project.gid).last_error is None


def test_dates_in_the_site_format_and_unreadable_ones():
    def in_zone(offset_hours: int, text: str) -> str:
        def read() -> str:
            PORTAL_TIMEZONE.set(timezone(timedelta(hours=offset_hours)))
            return parse_date(text).isoformat()
        return contextvars.copy_context().run(read)

    assert in_zone(0, "01.12.2026 09:05:00") == "2026-12-01T09:05:00+00:00"
    assert in_zone(3, "01.12.2026 09:05:00") == "2026-12-01T09:05:00+03:00"  # the portal's wall clock
    assert in_zone(3, "1.12.2026") == "2026-12-01T00:00:00+03:00"
    for bad in ("yesterday", "31.02.2026 10:00:00", "2026-13-01T00:00:00"):
        try:
            parse_date(bad)
        except BadDate:
            continue
        raise AssertionError(f"{bad!r} was read as a date")


def _slow_request(bed: Bed, carrying: str) -> None:
    """The next request that carries this method takes 2.5 s: the 2-second run deadline passes during it."""
    bed.portal.faults.add("slow", method="batch", count=1, contains=carrying, seconds=2.5)


@pytest.mark.parametrize("carrying", ["tasks.task.result.list", "task.commentitem.add"],
                         ids=["mid-read", "mid-post"])
def test_a_run_deadline_keeps_what_was_done_and_the_next_run_goes_on(bed, carrying):
    bed.portal_keys = {"run_deadline": 2}
    project = bed.project("Deadline", fillers=4)
    bed.sync()
    ids = [bed.portal.add_comment(task, bed.anna, f"news {n} on {task}") for task in project.tasks for n in range(12)]
    _slow_request(bed, carrying)
    reports = bed.sync(max_posts=500)  # exit 0: not a failure
    assert reports[0].out_of_time and any("run_deadline reached" in w for w in reports[0].warnings)
    posted_first = bed.posts(project)
    # one request of posts got through
    assert posted_first == (POSTS_PER_REQUEST if carrying == "task.commentitem.add" else 0) < len(ids)
    assert bed.state().group(project.gid).last_success is not None
    bed.sync(max_posts=500)
    assert sorted(int(m.rsplit(":", 1)[1]) for m in _comment_mirrors(bed, project)) == sorted(ids)
    assert bed.posts(project) == len(ids)


def test_a_post_the_portal_always_refuses_is_quarantined_and_the_rest_goes_on(bed):
    from b24mirror.app import run_sync
    from b24mirror.config.load import load_config
    from b24mirror.sync import SyncOptions

    project = bed.project("Poison")
    target = project.tasks[0]
    bed.sync()
    before = bed.portal.add_comment(target, bed.anna, "an ordinary note")
    bed.portal.advance(1)
    poison = bed.portal.add_comment(target, bed.anna, "the poison pill")
    bed.portal.advance(1)
    after = bed.portal.add_comment(target, bed.anna, "written after it")
    bed.portal.faults.refuse("task.commentitem.add", "poison pill", code="ERROR_CORE", message="Refused")
    refused = []
    for run in range(4):
        bed.portal.advance(30)
        [report] = run_sync(load_config(bed.config_path()), SyncOptions())
        assert report.ok, report.error  # one refused post is that item's problem, not the group's
        refused.append(report.refused)
        if run == 0:  # the others went on at once, in order
            assert sorted(bed.mirrors(project)) == sorted(f"b24m:comment:{target}:{c}" for c in (before, after))
    assert refused == [1, 1, 1, 0]  # refused three times, then set aside
    assert report.quarantined == 1 and any("quarantined" in w for w in report.warnings)
    assert sorted(bed.mirrors(project)) == sorted(f"b24m:comment:{target}:{c}" for c in (before, after))
    assert poison not in [int(m.rsplit(":", 1)[1]) for m in bed.mirrors(project)]
    assert bed.portal.faults.refused == 3


def test_a_comment_with_an_unreadable_date_waits_and_the_rest_goes_on(bed, monkeypatch):
    first, second = bed.project("Bad date"), bed.project("Healthy")
    bed.sync()
    target = first.tasks[0]
    bad = bed.portal.add_comment(target, bed.anna, "its date will not read")
    bad_ts = bed.portal.tasks[target].comments[-1].date
    bed.portal.advance(5)
    good = bed.portal.add_comment(target, bed.anna, "an ordinary one")
    healthy = bed.portal.add_comment(second.tasks[0], bed.anna, "in the other group")
    real_out_date = bed.portal.out_date
    monkeypatch.setattr(bed.portal, "out_date",
                        lambda ts: "31.02.2026 25:61:00" if ts == bad_ts else real_out_date(ts))
    reports = bed.sync()  # no group fails
    assert any(f"{bad}" in w and "cannot read" in w for w in reports[0].warnings)
    assert bed.mirrors(first) == [f"b24m:comment:{target}:{good}"]
    assert bed.mirrors(second) == [f"b24m:comment:{second.tasks[0]}:{healthy}"]
    monkeypatch.setattr(bed.portal, "out_date", real_out_date)  # the portal answers it properly again
    bed.sync()
    assert sorted(bed.mirrors(first)) == sorted(f"b24m:comment:{target}:{c}" for c in (bad, good))


def test_a_chat_first_read_longer_than_one_run_arrives_whole_and_oldest_first(bed):
    """No cursor yet (the chat was quiet since the first sync), then 2,500 messages: the first read walks
    back from the newest for more than one run's reading. Nothing may be skipped below where it stops."""
    project = bed.project("Bot log", new_card=True)
    target = project.tasks[0]
    chat = bed.portal.chats[bed.portal.tasks[target].chat_id]
    for n in range(20):
        bed.portal.post_message(chat, bed.anna, f"before the first sync {n}")
    bed.sync()
    ids = [bed.portal.post_message(chat, bed.anna, f"build step {n}").id for n in range(2500)]
    for _ in range(5):
        bed.sync(max_posts=5000)
    mirrored = [int(m.rsplit(":", 1)[1]) for m in _comment_mirrors(bed, project)]
    assert mirrored == ids  # every one, once, oldest first
    assert bed.state().group(project.gid).meta["pending"] == []


def test_a_task_left_unsettled_is_not_announced_as_new_when_it_settles(bed):
    """A task read but not finished (its posts held back) keeps a placeholder snapshot that claims no side of
    the subtree; when it settles later it is not a newcomer, unless it was created or moved in since the baseline."""
    project = bed.project("Unsettled", fillers=2)
    bed.sync()
    bed.portal.add_comment(project.tasks[0], bed.anna, "mirrored before the state is lost")
    bed.sync()
    (bed.tmp / "state.json").unlink()  # a lost state: every task is new to the state, none to the project
    for task in project.tasks:
        for n in range(3):
            bed.portal.add_comment(task, bed.anna, f"note {n} on {task}")
    bed.portal.set_field(project.tasks[0], "TITLE", "Renamed after the baseline", by=bed.anna)
    for _ in range(6):
        bed.sync(max_posts=2)  # most tasks stay partly done for a few runs
    assert not [m for m in bed.mirrors(project) if m.startswith("b24m:subtask:")]
    assert len([m for m in bed.mirrors(project) if m.startswith("b24m:comment:")]) == 10
