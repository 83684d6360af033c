"""The planner: which mirrors a master is missing, decided without any I/O."""
from dataclasses import replace

from b24mirror.policy.models import Comment, HistoryEvent, Marker, Task, User, find_markers, parse_date
from b24mirror.policy.plan import (
    REASON_ALREADY,
    REASON_BEFORE_BASELINE,
    REASON_BEFORE_ENTRY,
    REASON_MASTER,
    REASON_OTHER_GROUP,
    REASON_OUTSIDE,
    REASON_TOO_DEEP,
    GroupSnapshot,
    entry_from_history,
    plan_group,
    subtree_verdict,
)
from b24mirror.policy.rules import REASON_NOT_MEMBER
from b24mirror.config.settings import GroupConfig, Rules

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


# --------------------------------------------------------------------------- the leak cases, at plan level

import re  # noqa: E402

import pytest  # noqa: E402

HIDE_INTERNAL = GroupConfig(id=GROUP, master_task=100, language="en",
                            rules=Rules(hide_patterns=(re.compile(r"^#internal", re.M), re.compile(r"\bprice\b"))))
CARD_RULES = GroupConfig(id=GROUP, master_task=100, language="en",
                         rules=Rules(redact_patterns=(re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b"),)))


@pytest.mark.parametrize("text", [
    "[B]#internal[/B] budget",
    "[COLOR=#ff0000]#internal[/COLOR]: margins",
    "[SIZE=12]#internal[/SIZE]",
    "pri[COLOR=#000]ce[/COLOR] is 5",
    "pr\u200bice is 5",
    "&#35;internal",
])
def test_hidden_whatever_the_tags_entities_or_invisible_characters(text):
    plan = plan_group(snapshot(group=HIDE_INTERNAL, comments={101: [comment(1, 101, text=text)]}))
    assert plan.mirrors == [] and plan.skipped == {"hidden by rule": 1}


@pytest.mark.parametrize("text", [
    "Card [COLOR=#000000]4111 1111[/COLOR] 1111 1111",
    "Card 4111 1111 1111 1111 and 5500 0000 0000 0004",
    "Card 41\u200b11 1111 1111 1111",
])
def test_redacted_in_the_planned_mirror_whatever_splits_the_match(text):
    plan = plan_group(snapshot(group=CARD_RULES, comments={101: [comment(1, 101, text=text)]}))
    body = plan.mirrors[0].text.split("\n", 1)[1].replace("\u200b", "")
    assert "Card [redacted]" in body and not re.search(r"\d", body), body


def test_an_empty_member_list_keeps_every_author_out():
    plan = plan_group(snapshot(members=frozenset(), comments={101: [comment(1, 101), comment(2, 101, author=BORIS)]}))
    assert plan.mirrors == [] and plan.skipped == {REASON_NOT_MEMBER: 2}


def test_markers_sync_does_not_trust_do_not_stop_the_real_mirror():
    # A person's comment in the master carrying exactly one marker, and a bot comment carrying two,
    # are not trusted (sync's `_trust`): their markers never reach `known`, and the mirror is planned.
    typed = Marker("comment", 101, 1)
    plan = plan_group(snapshot(comments={101: [comment(1, 101), comment(2, 101)]}, known=frozenset()))
    assert [m.marker for m in plan.mirrors] == [typed, Marker("comment", 101, 2)]
    trusted = plan_group(snapshot(comments={101: [comment(1, 101)]}, known=frozenset({typed})))
    assert trusted.mirrors == [] and trusted.skipped == {REASON_ALREADY: 1}


def test_a_task_without_a_group_under_the_master_stays_out():
    tasks = dict(TASKS)
    tasks[107] = task(107, 100, group=None, created_date="2026-06-05T10:00:00+03:00")
    plan = plan_group(snapshot(tasks=tasks, comments={107: [comment(1, 107)]}, announce=frozenset({107})))
    assert plan.mirrors == [] and plan.skipped == {REASON_OTHER_GROUP: 2}


def test_a_comment_id_equal_to_a_subtask_id_is_a_different_item():
    tasks = dict(TASKS)
    tasks[106] = task(106, 101, created_date="2026-06-05T10:00:00+03:00")
    snap = dict(tasks=tasks, comments={101: [comment(106, 101)]}, announce=frozenset({106}))
    plan = plan_group(snapshot(**snap))
    assert sorted(str(m.marker) for m in plan.mirrors) == ["b24m:comment:101:106", "b24m:subtask:101:106"]
    comment_known = plan_group(snapshot(**snap, known=frozenset({Marker("comment", 101, 106)})))
    assert [str(m.marker) for m in comment_known.mirrors] == ["b24m:subtask:101:106"]
    subtask_known = plan_group(snapshot(**snap, known=frozenset({Marker("subtask", 101, 106)})))
    assert [str(m.marker) for m in subtask_known.mirrors] == ["b24m:comment:101:106"]


def test_new_subtask_lines_are_dated_name_people_and_skip_the_master_as_parent():
    tasks = dict(TASKS)
    tasks[106] = task(106, 100, created_date="2026-06-05T10:00:00+03:00", responsible_id=10,
                      responsible_name="Ivan Sidorov", created_by=BORIS)
    text = plan_group(snapshot(tasks=tasks, announce=frozenset({106}))).mirrors[0].text
    assert text.startswith("New subtask: ") and "in task" not in text
    assert "05.06.2026 10:00" in text and "Ivan Sidorov" in text and "Boris Ivanov" in text and "#10 " not in text


def test_responsible_event_names_people_from_the_tasks():
    tasks = dict(TASKS)
    tasks[101] = replace(TASKS[101], responsible_id=10, responsible_name="Ivan Sidorov")
    row = HistoryEvent(5, 101, "RESPONSIBLE_ID", str(ANNA), "10", "2026-06-03T10:00:00+03:00", BORIS, "Boris Ivanov")
    config = GroupConfig(id=GROUP, master_task=100, language="en", rules=Rules(events=("responsible",)))
    text = plan_group(snapshot(group=config, tasks=tasks, history={101: [row]})).mirrors[0].text
    assert text.endswith("Responsible: Anna Petrova → Ivan Sidorov") and "#10 " not in text


# --------------------------------------------------------------------------- items count from the entry

def move_row(rid, tid, field, before, after, date):
    return HistoryEvent(rid, tid, field, before, after, date, ANNA, "Anna Petrova")


def test_the_entry_is_the_latest_move_before_which_the_task_was_outside():
    moved_up = replace(TASKS[103], parent_id=101)  # level 3 -> level 2
    rows = [move_row(1, 103, "PARENT_ID", "102", "101", "2026-06-03T09:00:00+03:00")]
    assert entry_from_history(moved_up, rows, MASTER, TASKS, 2) == "2026-06-03T09:00:00+03:00"
    from_other_group = replace(TASKS[105], parent_id=101, group_id=GROUP)
    rows = [move_row(2, 105, "GROUP_ID", "77", str(GROUP), "2026-06-04T09:00:00+03:00"),
            move_row(3, 105, "PARENT_ID", "100", "101", "2026-06-05T09:00:00+03:00")]  # a move inside: not the entry
    assert entry_from_history(from_other_group, rows, MASTER, TASKS, 2) == "2026-06-04T09:00:00+03:00"
    created_inside = TASKS[102]
    assert entry_from_history(created_inside, [], MASTER, TASKS, 2) is None


def test_items_dated_before_the_entry_are_skipped_and_the_move_announced_as_a_move():
    moved = replace(TASKS[103], parent_id=101)
    tasks = {**TASKS, 103: moved}
    entered = "2026-06-03T09:00:00+03:00"
    old, new = comment(1, 103, date="2026-06-02T12:00:00+03:00"), comment(2, 103, date="2026-06-03T09:00:01+03:00")
    status = HistoryEvent(5, 103, "STATUS", "2", "3", "2026-06-02T13:00:00+03:00", BORIS, "Boris Ivanov")
    plan = plan_group(snapshot(tasks=tasks, comments={103: [old, new]}, history={103: [status]},
                               announce=frozenset({103}), entered={103: entered}))
    assert plan.decisions[Marker("comment", 103, 1)] == REASON_BEFORE_ENTRY
    assert plan.decisions[Marker("event", 103, 5)] == REASON_BEFORE_ENTRY
    assert [str(m.marker) for m in plan.mirrors] == ["b24m:subtask:101:103", "b24m:comment:103:2"]
    assert plan.mirrors[0].text.startswith("Moved into the project in task ")
    without = plan_group(snapshot(tasks=tasks, comments={103: [old, new]}, announce=frozenset({103})))
    assert without.mirrors[0].text.startswith("New subtask") and len(without.mirrors) == 3
