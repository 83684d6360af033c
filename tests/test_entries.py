"""Whether a present mirror's source left the project after it was mirrored: its task's and its ancestors' moves."""
from b24mirror.config.settings import GroupConfig
from b24mirror.policy.entries import left_since
from b24mirror.policy.models import HistoryEvent, Marker
from b24mirror.policy.plan import REASON_BEFORE_ENTRY
from tests.test_plan import GROUP, TASKS, comment, snapshot

DEEP = GroupConfig(id=GROUP, master_task=100, depth=3, language="en")


def moved(row_id, task_id, before, after, hour):
    return HistoryEvent(row_id, task_id, "PARENT_ID", str(before), str(after), f"2026-06-02T{hour}:00:00+03:00", 11, "")


def judged(history, hour):
    """left_since for a comment on task 103 (level 3) written at `hour`, its task or an ancestor away 12:00-14:00."""
    written = comment(1, 103, date=f"2026-06-02T{hour}:00:00+03:00")
    snap = snapshot(group=DEEP, history=history, comments={103: [written]})
    return left_since(Marker("comment", 103, 1), REASON_BEFORE_ENTRY, snap)


def test_an_item_written_before_an_ancestor_left_was_written_inside_and_one_written_while_it_was_away_was_not():
    away_and_back = {101: [moved(1, 101, 100, 104, 12), moved(2, 101, 104, 100, 14)]}  # the grandparent moved
    assert judged(away_and_back, 10) is True
    assert judged(away_and_back, 13) is False
    assert judged(away_and_back, 15) is True


def test_the_tasks_own_moves_still_count():
    own = {103: [moved(1, 103, 102, 104, 12), moved(2, 103, 104, 102, 14)]}
    assert judged(own, 10) is True and judged(own, 13) is False


def test_an_ancestor_whose_history_was_not_read_is_taken_as_it_hangs_now():
    assert judged({}, 13) is True
