"""The engine's rules that small worlds never exercise, each in a world that needs it."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from b24mirror.fakeportal import FakePortal, serve
from b24mirror.policy.models import find_markers

from .conftest import Bed


def _hide_from_activity_order(bed: Bed, task_id: int, activity: float) -> None:
    """Put a task's activityDate back: a portal that moved only changedDate (or a node that lagged)."""
    bed.portal.tasks[task_id].activity = activity


def _status_events(bed: Bed, project) -> list[str]:
    return [m for m in bed.mirrors(project) if m.startswith(f"b24m:event:{project.tasks[0]}:")]


def test_changes_are_read_with_an_overlap_before_the_cursor(bed):
    """A change stamped a little before the cursor (a portal node whose clock lags) is still read.

    60 later tasks keep the changed task off the first page of the activity order, so only the
    `>=CHANGED_DATE` listing can find it."""
    project = bed.project("Overlap", fillers=60)
    target = project.tasks[0]
    bed.sync()
    bed.sync()
    activity = bed.portal.tasks[target].activity
    cursor_ts = bed.portal.now_ts()
    bed.portal.advance(5)
    bed.portal.set_status(target, 5, by=bed.anna)
    bed.portal.tasks[target].changed = cursor_ts - 180
    _hide_from_activity_order(bed, target, activity)
    bed.sync()
    assert len(_status_events(bed, project)) == 1


@pytest.fixture
def bed_behind(tmp_path):
    """A portal whose clock is three hours behind ours."""
    portal = FakePortal(seed=3, start=time.time() - 3 * 3600)
    me = portal.add_user("Mirror", "Robot")
    anna = portal.add_user("Anna", "Petrova")
    server = serve(portal, port=0)
    yield Bed(portal, server, tmp_path, me, anna, portal.add_webhook(me))
    server.shutdown()


def test_the_cursor_is_the_portals_clock_not_ours(bed_behind):
    bed = bed_behind
    project = bed.project("Clocks", fillers=60)
    target = project.tasks[0]
    bed.sync()
    bed.sync()
    cursor = bed.state().group(project.gid).cursor
    assert cursor.startswith(bed.portal.now().strftime("%Y-%m-%dT%H"))  # the portal's hour, 3 h behind ours
    activity = bed.portal.tasks[target].activity
    bed.portal.set_status(target, 5, by=bed.anna)
    _hide_from_activity_order(bed, target, activity)
    bed.sync()
    assert len(_status_events(bed, project)) == 1


def test_a_sweep_finds_a_comment_by_comments_count_alone(bed):
    """A portal where a new comment moves neither changedDate nor activityDate: commentsCount tells."""
    bed.sweep_every = 1  # every run lists the whole group
    project = bed.project("Counts", fillers=3)
    target = project.tasks[0]
    bed.sync()
    activity = bed.portal.tasks[target].activity
    cid = bed.portal.add_comment(target, bed.anna, "Found by the count")
    _hide_from_activity_order(bed, target, activity)
    bed.sync()
    assert bed.mirrors(project) == [f"b24m:comment:{target}:{cid}"]


def test_each_groups_ledger_records_its_own_mirrors_from_a_shared_request(bed):
    first, second = bed.project("First"), bed.project("Second")
    bed.sync()
    for project in (first, second):
        for n in range(3):
            bed.portal.add_comment(project.tasks[0], bed.anna, f"{project.gid} comment {n}")
    bed.sync()  # six posts: one request carries both groups' (apply.POSTS_PER_REQUEST)
    state = bed.state()
    for project in (first, second):
        actual = bed.mirror_ids(project)
        assert len(actual) == 3
        recorded = {key: entry["id"] for key, entry in state.group(project.gid).ledger.items()}
        assert recorded == actual


def test_a_chat_page_of_exactly_fifty_news_is_read_on(bed):
    project = bed.project("Chatty", new_card=True)
    target = project.tasks[0]
    chat = bed.portal.chats[bed.portal.tasks[target].chat_id]
    bed.sync()
    bed.portal.add_comment(target, bed.anna, "the first")
    bed.sync(max_posts=500)
    for n in range(125):  # pages of 50, 50 and 25
        bed.portal.post_message(chat, bed.anna, f"news {n}")
    bed.sync(max_posts=500)
    comments = [m for m in bed.mirrors(project) if m.startswith("b24m:message:")]
    assert len(comments) == 126 and len(set(comments)) == 126


def test_a_marker_a_person_typed_into_the_master_does_not_stand_for_a_mirror(bed):
    project = bed.project("Typed")
    target = project.tasks[0]
    bed.sync()
    cid = bed.portal.add_comment(target, bed.anna, "Worth mirroring")
    bed.portal.add_comment(project.master, bed.anna, f"quoting b24m:comment:{target}:{cid} by hand")
    bed.sync()
    assert bed.mirrors(project) == [f"b24m:comment:{target}:{cid}"]


def test_our_own_comment_with_two_markers_stands_for_neither(bed):
    project = bed.project("Two markers")
    target = project.tasks[0]
    bed.sync()
    ids = [bed.portal.add_comment(target, bed.anna, f"comment {n}") for n in range(2)]
    bed.portal.add_comment(project.master, bed.me, " ".join(f"b24m:comment:{target}:{i}" for i in ids))
    bed.sync()
    single = Counter(str(m[0]) for c in bed.portal.comments(project.master)
                     if c["author_id"] == bed.me and len(m := find_markers(c["text"])) == 1)
    assert single == Counter(f"b24m:comment:{target}:{i}" for i in ids)


def test_service_comments_are_told_by_the_portals_signal_and_people_by_theirs(bed):
    """The portal's comment written with a status change stays out whatever its wording; a person's
    sentence that begins like a service line is mirrored."""
    project = bed.project("Service")
    target = project.tasks[0]
    bed.sync()
    bed.portal.set_status(target, 5, by=bed.anna)
    bed.portal.add_system_comment(target, "Статус: завершена (новая формулировка портала)", by=bed.anna)
    bed.portal.advance(60)
    human = bed.portal.add_comment(target, bed.anna, "Задача завершена, акт подписан, оригиналы у Анны")
    bed.sync()
    comments = [m for m in bed.mirrors(project) if m.startswith("b24m:comment:")]
    assert comments == [f"b24m:comment:{target}:{human}"]


def test_news_between_a_first_syncs_baseline_and_its_later_pages_is_read(bed):
    """The first sync's baseline is the portal's clock at its first answer; a comment written while later
    pages were listed (here: stamped after that clock) must be read, not hidden in the saved snapshot."""
    project = bed.project("Race", fillers=70)
    target = project.tasks[-1]
    later = bed.portal.now_ts() + 120
    cid = bed.portal.add_comment(target, bed.anna, "written while the listing was paged")
    bed.portal.tasks[target].comments[-1].date = later
    bed.portal.tasks[target].activity = later
    bed.sync()
    bed.sync()
    assert bed.mirrors(project) == [f"b24m:comment:{target}:{cid}"]


def test_a_failing_user_get_stays_its_groups_problem(bed):
    """Authors are looked up with user.get for every group in one request; the answer failing for one
    group's authors fails that group only."""
    first, second = bed.project("First"), bed.project("Second")
    stranger = bed.portal.add_user("Pavel", "Novikov")
    bed.portal.add_member(first.gid, stranger)
    from b24mirror.app import run_sync
    from b24mirror.config.load import load_config
    from b24mirror.sync import SyncOptions

    bed.sync()
    bed.portal.add_comment(first.tasks[0], stranger, "a comment whose author cannot be looked up")
    fine = bed.portal.add_comment(second.tasks[0], bed.anna, "an ordinary comment")
    bed.portal.faults.refuse("user.get", repr(str(stranger)), code="ERROR_CORE", message="user.get failed")
    bed.portal.advance(30)
    reports = {r.group_id: r for r in run_sync(load_config(bed.config_path()), SyncOptions())}
    assert reports[first.gid].error and "user.get failed" in reports[first.gid].error
    assert reports[second.gid].ok
    assert bed.mirrors(second) == [f"b24m:comment:{second.tasks[0]}:{fine}"]
