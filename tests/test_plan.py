"""The planner: which mirrors a master is missing, decided without any I/O."""
from dataclasses import replace

from b24mirror.models import Comment, HistoryEvent, Marker, Task, User, find_markers, parse_date
from b24mirror.plan import (
    REASON_ALREADY,
    REASON_BEFORE_BASELINE,
    REASON_MASTER,
    REASON_OTHER_GROUP,
    REASON_OUTSIDE,
    REASON_TOO_DEEP,
    GroupSnapshot,
    plan_group,
    subtree_verdict,
)
from b24mirror.rules import REASON_NOT_MEMBER
from b24mirror.settings import GroupConfig, Rules

ME, ANNA, BORIS, OUTSIDER = 7, 11, 12, 99
GROUP = 42


def task(tid, parent, group=GROUP, **kw):
    base = dict(id=tid, title=f"Task {tid}", group_id=group, parent_id=parent, status=3, created_by=ANNA,
                responsible_id=ANNA, created_date="2026-06-01T10:00:00+03:00", changed_date="2026-06-01T10:00:00+03:00")
    base.update(kw)
    return Task(**base)


MASTER = task(100, None)
TASKS = {t.id: t for t in [
    MASTER,
    task(101, 100),            # level 1
    task(102, 101),            # level 2
    task(103, 102),            # level 3: too deep
    task(104, None),           # outside: no parent
    task(105, 100, group=77),  # another group
]}


def comment(cid, tid, author=ANNA, text="Hello", date="2026-06-02T12:00:00+03:00", **kw):
    return Comment(id=cid, task_id=tid, author_id=author, author_name="Anna Petrova", date=date, text=text, **kw)


def snapshot(**kw):
    base = dict(
        group=GroupConfig(id=GROUP, master_task=100, depth=2, language="en"),
        master=MASTER, tasks=TASKS, members=frozenset({ANNA, BORIS, ME}),
        users={ANNA: User(ANNA, "Anna Petrova"), BORIS: User(BORIS, "Boris Ivanov")},
        own_user_id=ME, baseline=parse_date("2026-06-01T00:00:00+03:00"), portal_url="https://p.example",
    )
    base.update(kw)
    return GroupSnapshot(**base)


def test_subtree_verdicts():
    assert subtree_verdict(TASKS[101], MASTER, TASKS, 2) is None
    assert subtree_verdict(TASKS[102], MASTER, TASKS, 2) is None
    assert subtree_verdict(TASKS[102], MASTER, TASKS, 1) == REASON_TOO_DEEP
    assert subtree_verdict(TASKS[103], MASTER, TASKS, 2) == REASON_TOO_DEEP
    assert subtree_verdict(TASKS[104], MASTER, TASKS, 2) == REASON_OUTSIDE
    assert subtree_verdict(TASKS[105], MASTER, TASKS, 2) == REASON_OTHER_GROUP
    assert subtree_verdict(MASTER, MASTER, TASKS, 2) == REASON_MASTER


def test_parent_in_another_group_breaks_the_chain():
    moved = dict(TASKS)
    moved[101] = replace(TASKS[101], group_id=77)
    assert subtree_verdict(TASKS[102], MASTER, moved, 2) == REASON_OUTSIDE


def test_eligible_comments_planned_with_one_marker_each_oldest_first():
    plan = plan_group(snapshot(comments={
        101: [comment(2, 101, date="2026-06-03T09:00:00+03:00"), comment(1, 101, date="2026-06-02T09:00:00+03:00")],
        102: [comment(3, 102, author=BORIS, date="2026-06-02T10:00:00+03:00")],
    }))
    assert [str(m.marker) for m in plan.mirrors] == ["b24m:comment:101:1", "b24m:comment:102:3", "b24m:comment:101:2"]
    for mirror in plan.mirrors:
        assert find_markers(mirror.text) == [mirror.marker]


def test_ineligible_items_are_skipped_with_reasons():
    plan = plan_group(snapshot(comments={
        101: [comment(1, 101, author=OUTSIDER), comment(2, 101, author=ME)],
        103: [comment(3, 103)],
        104: [comment(4, 104)],
        105: [comment(5, 105)],
        100: [comment(6, 100)],
    }))
    assert plan.mirrors == []
    assert plan.skipped[REASON_NOT_MEMBER] == 1
    assert plan.skipped[REASON_TOO_DEEP] == 1
    assert plan.skipped[REASON_OUTSIDE] == 1
    assert plan.skipped[REASON_OTHER_GROUP] == 1
    assert plan.skipped[REASON_MASTER] == 1
    assert sum(plan.skipped.values()) == 6


def test_known_markers_and_baseline_filter():
    plan = plan_group(snapshot(
        comments={101: [comment(1, 101), comment(2, 101, date="2026-05-01T10:00:00+03:00"), comment(3, 101)]},
        known=frozenset({Marker("comment", 101, 1)}),
    ))
    assert [m.marker.source_id for m in plan.mirrors] == [3]
    assert plan.skipped == {REASON_ALREADY: 1, REASON_BEFORE_BASELINE: 1}


def test_backfill_takes_everything():
    plan = plan_group(snapshot(comments={101: [comment(2, 101, date="2020-05-01T10:00:00+03:00")]}, baseline=None))
    assert len(plan.mirrors) == 1


def test_events_status_and_deadline_but_not_others():
    history = [
        HistoryEvent(1, 101, "STATUS", "3", "5", "2026-06-02T10:00:00+03:00", ANNA, "Anna Petrova"),
        HistoryEvent(2, 101, "REAL_STATUS", "3", "5", "2026-06-02T10:00:00+03:00", ANNA, "Anna Petrova"),
        HistoryEvent(3, 101, "DEADLINE", "1781000000", "2026-06-19T18:00:00+03:00", "2026-06-02T11:00:00+03:00", ANNA, "A"),
        HistoryEvent(4, 101, "COMMENT", None, "55", "2026-06-02T11:00:00+03:00", ANNA, "A"),
        HistoryEvent(5, 101, "TITLE", "a", "b", "2026-06-02T11:00:00+03:00", ANNA, "A"),
    ]
    plan = plan_group(snapshot(history={101: history}))
    assert [str(m.marker) for m in plan.mirrors] == ["b24m:event:101:1", "b24m:event:101:3"]
    assert "Completed" in plan.mirrors[0].text
    titled = plan_group(snapshot(history={101: history}, group=GroupConfig(
        id=GROUP, master_task=100, rules=Rules(events=("status", "deadline", "title")))))
    assert "b24m:event:101:5" in [str(m.marker) for m in titled.mirrors]


def test_new_subtask_announced_once_whatever_its_parent():
    fresh = task(106, 101, created_date="2026-06-05T10:00:00+03:00")
    tasks = dict(TASKS)
    tasks[106] = fresh
    plan = plan_group(snapshot(tasks=tasks, announce=frozenset({106})))
    assert [str(m.marker) for m in plan.mirrors] == ["b24m:subtask:101:106"]
    again = plan_group(snapshot(tasks=tasks, announce=frozenset({106}), known=frozenset({Marker("subtask", 100, 106)})))
    assert again.mirrors == []


def test_subtask_announcement_can_be_switched_off():
    tasks = dict(TASKS)
    tasks[106] = task(106, 101, created_date="2026-06-05T10:00:00+03:00")
    config = GroupConfig(id=GROUP, master_task=100, rules=Rules(events=("status",)))
    assert plan_group(snapshot(tasks=tasks, announce=frozenset({106}), group=config)).mirrors == []


def test_hidden_and_redacted_by_rules():
    import re

    config = GroupConfig(id=GROUP, master_task=100, rules=Rules(
        hide_patterns=(re.compile("^#internal", re.M),), redact_patterns=(re.compile(r"\d{4}-\d{4}"),)))
    plan = plan_group(snapshot(group=config, comments={101: [
        comment(1, 101, text="#internal price is 5"), comment(2, 101, text="card 1234-5678 ok")]}))
    assert len(plan.mirrors) == 1
    assert "1234-5678" not in plan.mirrors[0].text and "card" in plan.mirrors[0].text
    assert "#internal" not in plan.mirrors[0].text


def test_chat_master_gets_chat_flavour():
    chat_master = replace(MASTER, chat_id=555)
    tasks = dict(TASKS)
    tasks[100] = chat_master
    plan = plan_group(snapshot(master=chat_master, tasks=tasks, comments={101: [comment(1, 101)]}))
    assert "[QUOTE]" not in plan.mirrors[0].text and ">>" in plan.mirrors[0].text
