"""Writes settled by what the portal holds: a failure on one post is that post's, a backfill under a cap
reads every task, the checklist of a group busier than a page keeps what an incremental listing leaves out."""
from __future__ import annotations

import pytest

from b24mirror.sync import SyncOptions
from b24mirror.sync.decide import QUARANTINE_AFTER, REJECTED

from .conftest import Bed


def _comment_ids(bed: Bed, project) -> list[int]:
    return [int(m.rsplit(":", 1)[1]) for m in bed.mirrors(project) if m.startswith("b24m:comment:")]


def _three_notes(bed: Bed, task: int) -> list[int]:
    """Three comments a second apart; the third says "troubled third", for a refusal to aim at."""
    ids = []
    for text in ("an ordinary note", "a second note", "the troubled third"):
        ids.append(bed.portal.add_comment(task, bed.anna, text))
        bed.portal.advance(1)
    return ids


@pytest.mark.parametrize("code", ["ACCESS_DENIED", "QUERY_LIMIT_EXCEEDED"])
def test_a_failure_on_one_post_is_held_against_that_post_only(bed, code):
    """The third of three posts fails with an error that is not a refusal: the two before it landed and are
    recorded; if the failure is counted against a post, it is the third, never the request's first."""
    project = bed.project("One bad post")
    target = project.tasks[0]
    bed.sync()
    ids = _three_notes(bed, target)
    bed.portal.faults.refuse("task.commentitem.add", "troubled third", code=code, message="not now")
    [report] = bed.run()
    assert bed.portal.faults.refused >= 1
    assert not report.ok and "not now" in report.error
    assert _comment_ids(bed, project) == ids[:2]
    rejected = set(bed.state().group(project.gid).meta.get(REJECTED, {}))
    assert rejected <= {f"b24m:comment:{target}:{ids[2]}"}, rejected
    bed.portal.faults.clear()
    bed.sync()
    assert _comment_ids(bed, project) == ids


def test_a_backfill_under_a_cap_on_a_synced_group_reads_every_task(bed):
    """61 tasks with history, a group already synced: `--backfill` with a cap of 25 posts a run imports all
    of it over the next runs, though no listing shows those tasks as changed."""
    project = bed.project("History", fillers=60)
    old = {task: bed.portal.add_comment(task, bed.anna, f"from before, on {task}") for task in project.tasks}
    bed.portal.advance(1200)
    bed.sync()
    bed.sync()
    assert _comment_ids(bed, project) == []
    bed.sync(SyncOptions(backfill=True), max_posts=25)
    assert len(bed.mirrors(project)) == 25  # the cap holds: announcements of the subtasks and their comments
    for _ in range(5):  # 61 announcements and 61 comments, 25 a run
        bed.sync(max_posts=25)
    assert sorted(_comment_ids(bed, project)) == sorted(old.values())


def _our_items(bed: Bed, project) -> list[str]:
    return sorted(i.title for i in bed.portal.checklist.values()
                  if i.task_id == project.master and i.created_by == bed.me and i.parent_id)


def test_the_checklist_keeps_the_items_of_subtasks_an_incremental_listing_leaves_out(bed):
    """A quiet run lists only the tasks that changed (and a page of the activity order): the other 60
    subtasks are merely unlisted, not gone, and keep their items."""
    project = bed.project("Checklist", fillers=60)
    bed.sync(checklist="true")
    items = _our_items(bed, project)
    assert len(items) == 61
    bed.portal.advance(1200)
    bed.sync(checklist="true")
    bed.portal.set_status(project.tasks[0], 5, by=bed.anna)
    bed.sync(checklist="true")
    bed.sync(checklist="true")
    assert _our_items(bed, project) == items
    assert [i.complete for i in bed.portal.checklist.values()
            if i.created_by == bed.me and i.title.startswith(f"#{project.tasks[0]} ")] == [True]


def test_posts_recorded_before_a_request_fails_half_way_reach_the_disk(bed):
    """The third post of a request fails, and reading the master back to settle it fails too, with an error
    that ends the run (the webhook refused): the two posts that landed are on disk all the same, the one
    write owed at the end of the settling made on the way out."""
    from b24mirror.bitrix import AuthError

    project = bed.project("Half way")
    target = project.tasks[0]
    bed.sync()
    ids = _three_notes(bed, target)
    seen = bed.portal.add_comment(project.master, bed.anna, "a person's note in the master")
    bed.portal.faults.refuse("task.commentitem.add", "troubled third", code="ACCESS_DENIED", message="not now")
    for after in (f"'>ID': {seen}", f"'>ID': '{seen}'"):  # a read back after the newest comment seen
        bed.portal.faults.refuse("task.commentitem.getlist", after, code="NO_AUTH_FOUND", message="webhook gone")
    with pytest.raises(AuthError):
        bed.run()
    assert bed.portal.faults.refused == 2
    posted = bed.mirror_ids(project)
    assert sorted(posted) == sorted(f"b24m:comment:{target}:{i}" for i in ids[:2])
    assert {key: entry["id"] for key, entry in bed.state().group(project.gid).ledger.items()} == posted


def test_a_post_the_portal_answers_with_its_rate_limit_is_never_quarantined(bed):
    """QUERY_LIMIT_EXCEEDED is the portal's pace, not the post's fault: answered so in more runs than the
    quarantine allows, the post is not set aside, and goes out once (and only once) when the limit passes."""
    project = bed.project("Busy portal")
    target = project.tasks[0]
    bed.sync()
    ids = _three_notes(bed, target)
    bed.portal.faults.refuse("task.commentitem.add", "troubled third", code="QUERY_LIMIT_EXCEEDED",
                             message="Too many requests")
    for run in range(QUARANTINE_AFTER + 1):
        [report] = bed.run()
        assert bed.portal.faults.refused == run + 1
        assert not report.ok and "QUERY_LIMIT_EXCEEDED" in report.error and not report.quarantined
    rejected = bed.state().group(project.gid).meta.get(REJECTED, {})
    assert f"b24m:comment:{target}:{ids[2]}" not in rejected, rejected
    bed.portal.faults.clear()
    bed.sync()
    assert _comment_ids(bed, project) == ids
