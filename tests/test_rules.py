"""Eligibility of comments and history rows, each reason and the order they are checked in."""
import re

import pytest

from b24mirror.policy.models import WORLD_CHAT, WORLD_CLASSIC, Attachment, Comment, HistoryEvent, User
from b24mirror.policy.rules import (
    REASON_EMPTY,
    REASON_EVENT_KIND,
    REASON_EXCLUDED_AUTHOR,
    REASON_EXTRANET,
    REASON_HIDDEN,
    REASON_NOT_INCLUDED,
    REASON_NOT_MEMBER,
    REASON_OWN,
    REASON_SYSTEM,
    SERVICE_COMMENT_TEMPLATES,
    comment_verdict,
    dedupe_status_rows,
    event_kind,
    event_verdict,
    is_system_comment,
    mark_service_comments,
)
from b24mirror.config.settings import Rules

OWN = 1
MEMBERS = {1, 7, 8, 9}
USERS = {1: User(1, "Bot"), 7: User(7, "Ivan"), 8: User(8, "Guest", extranet=True), 9: User(9, "Anna")}


def comment(author_id=7, text="Hello", world=WORLD_CLASSIC, id=10, date="2025-07-15T14:31:00+02:00", **kwargs):
    return Comment(id=id, task_id=123, author_id=author_id, author_name="x", date=date,
                   text=text, world=world, **kwargs)


def verdict(item, rules=Rules(), members=MEMBERS, users=USERS):
    return comment_verdict(item, members=members, users=users, own_user_id=OWN, rules=rules)


def event(field="STATUS", before="2", after="3", event_id=1, date="2025-06-10T12:00:00+03:00", task_id=123):
    return HistoryEvent(event_id, task_id, field, before, after, date, 7, "Ivan")


# --------------------------------------------------------------------------- comments, one reason each


def test_ordinary_member_comment_is_eligible():
    assert verdict(comment()) is None


def test_own_comment():
    assert verdict(comment(author_id=OWN)) == REASON_OWN


def test_system_comment_by_author_zero_or_flag():
    assert verdict(comment(author_id=0)) == REASON_SYSTEM
    assert verdict(comment(system=True)) == REASON_SYSTEM
    assert verdict(comment(author_id=0, world=WORLD_CHAT)) == REASON_SYSTEM


def test_not_a_member():
    assert verdict(comment(author_id=55)) == REASON_NOT_MEMBER


def test_unknown_user_is_judged_by_membership_only():
    assert verdict(comment(author_id=7), users={}) is None
    assert verdict(comment(author_id=55), users={}) == REASON_NOT_MEMBER


def test_extranet_member_mirrored_by_default_and_excluded_when_switched_on():
    assert verdict(comment(author_id=8)) is None
    assert verdict(comment(author_id=8), rules=Rules(exclude_extranet=True)) == REASON_EXTRANET


def test_an_empty_member_list_keeps_every_author_out():
    for author in (7, 8, 9):
        assert verdict(comment(author_id=author), members=set()) == REASON_NOT_MEMBER
        assert verdict(comment(author_id=author), members=frozenset()) == REASON_NOT_MEMBER


def test_include_authors():
    rules = Rules(include_authors=(9,))
    assert verdict(comment(author_id=7), rules=rules) == REASON_NOT_INCLUDED
    assert verdict(comment(author_id=9), rules=rules) is None


def test_exclude_authors():
    rules = Rules(exclude_authors=(7,))
    assert verdict(comment(author_id=7), rules=rules) == REASON_EXCLUDED_AUTHOR
    assert verdict(comment(author_id=9), rules=rules) is None


def test_hide_patterns_search_the_raw_text():
    rules = Rules(hide_patterns=(re.compile(r"#private"), re.compile(r"\[b\]salary", re.IGNORECASE)))
    assert verdict(comment(text="note #private here"), rules=rules) == REASON_HIDDEN
    assert verdict(comment(text="the [B]salary[/B] is"), rules=rules) == REASON_HIDDEN
    assert verdict(comment(text="public"), rules=rules) is None


INTERNAL = Rules(hide_patterns=(re.compile(r"^#internal", re.MULTILINE),))
PRICE = Rules(hide_patterns=(re.compile(r"\bprice\b"),))


@pytest.mark.parametrize("text", [
    "[B]#internal[/B] budget",
    "[COLOR=#ff0000]#internal[/COLOR]: margins",
    "[SIZE=12]#internal[/SIZE]",
    "&#35;internal",
    "&amp;#35;internal notes",
    "\u200b#internal",
    "\ufeff[I]#internal[/I]",
    "[QUOTE]#internal[/QUOTE]",
])
def test_hide_judges_what_readers_see_whatever_the_tags_or_entities(text):
    assert verdict(comment(text=text), rules=INTERNAL) == REASON_HIDDEN


@pytest.mark.parametrize("text", [
    "pri[COLOR=#000]ce[/COLOR] list",
    "pr\u200bice list",
    "pr\u00adice list",
    "pr\u200dice list",
    "p[B][/B]rice list",
    "pr&#105;ce list",
])
def test_hide_sees_a_word_split_by_tags_or_invisible_characters(text):
    assert verdict(comment(text=text), rules=PRICE) == REASON_HIDDEN


def test_hide_does_not_fire_on_what_readers_do_not_see_as_the_word():
    assert verdict(comment(text="pricey [B]list[/B]"), rules=PRICE) is None
    assert verdict(comment(text="see #internal later"), rules=INTERNAL) is None


def test_comments_switched_off():
    assert verdict(comment(), rules=Rules(mirror_comments=False)) == REASON_HIDDEN


def test_empty_and_deleted():
    assert verdict(comment(text="")) == REASON_EMPTY
    assert verdict(comment(text="  \n\t\u200b ")) == REASON_EMPTY
    assert verdict(comment(text="[B]\u200b[/B] \u00ad")) == REASON_EMPTY
    assert verdict(comment(text="Hello", deleted=True)) == REASON_EMPTY
    assert verdict(comment(text="", attachments=(Attachment("a.png", "/a"),))) is None


# --------------------------------------------------------------------------- comments, order of checks


def test_order_own_before_system_before_membership():
    assert verdict(comment(author_id=OWN, system=True), members=set()) == REASON_OWN
    assert verdict(comment(author_id=55, system=True)) == REASON_SYSTEM


def test_order_membership_before_extranet_before_lists():
    assert verdict(comment(author_id=8), members={7}) == REASON_NOT_MEMBER
    assert verdict(comment(author_id=8), rules=Rules(exclude_extranet=True, exclude_authors=(8,))) == REASON_EXTRANET


def test_order_lists_before_hide_before_switch_before_empty():
    hide = (re.compile("x"),)
    assert verdict(comment(text="x"), rules=Rules(include_authors=(9,), hide_patterns=hide)) == REASON_NOT_INCLUDED
    assert verdict(comment(text="x"), rules=Rules(exclude_authors=(7,), hide_patterns=hide)) == REASON_EXCLUDED_AUTHOR
    assert verdict(comment(text=""), rules=Rules(mirror_comments=False)) == REASON_HIDDEN


# --------------------------------------------------------------------------- system comments


@pytest.mark.parametrize("text", [
    "Задача завершена.",
    "Task completed",
    "Задача возобновлена",
    "Task renewed.",
    "Задача отложена",
    "Task deferred",
    "Крайний срок изменён на 19.06.2025",
    "Крайний срок изменен на 19.06.2025",
    "Deadline changed to 06/19/2025",
    "Deadline changed to 01.01",
    "Изменён ответственный: Иван Петров",
    "Responsible person changed: Ivan Petrov",
    "Task created",
    "Задача создана",
    "  Задача завершена",
    "[USER=503 REPLACE]Maria Johnson[/USER] changed the deadline",
])
def test_classic_service_comments_are_system(text):
    assert is_system_comment(comment(text=text))
    assert verdict(comment(text=text)) == REASON_SYSTEM


@pytest.mark.parametrize("text", [
    "Готово, задача завершена по плану",
    "I think the Task completed is wrong",
    "[USER=503]Maria Johnson[/USER] please check",
    "Deadline: Friday",
    "Задача завершена, акт подписан, оригиналы у Анны",
    "Task completed on site, photos attached",
    "Крайний срок изменён по просьбе заказчика, новый — пятница",
    "Task created for the surveyors / see the drawings",
])
def test_human_comments_are_not_system(text):
    assert not is_system_comment(comment(text=text))


def test_chat_world_relies_on_flags_only():
    assert not is_system_comment(comment(text="Задача завершена", world=WORLD_CHAT))
    assert is_system_comment(comment(text="hello", world=WORLD_CHAT, system=True))


def test_service_templates_can_be_extended():
    assert isinstance(SERVICE_COMMENT_TEMPLATES, tuple)
    extended = SERVICE_COMMENT_TEMPLATES + (re.compile(r"Чек-лист обновл[её]н"),)
    assert not is_system_comment(comment(text="Чек-лист обновлён"))
    assert is_system_comment(comment(text="Чек-лист обновлён"), extended)
    assert is_system_comment(comment(text="Task completed"), extended)


def test_a_comment_in_both_languages_is_service_only_when_each_part_is():
    assert is_system_comment(comment(text="Задача просрочена. / The task is overdue."))
    assert not is_system_comment(comment(text="Задача просрочена. / and nobody noticed"))


def _row(eid, field, date, user):
    return HistoryEvent(id=eid, task_id=1, field=field, before=None, after=None, date=date, user_id=user,
                        user_name="")


def test_the_portals_signal_marks_the_service_comment_written_with_a_change():
    """serviceCommentsCount rose by one: of the comments, the one written with the status change (same user,
    same second) is the portal's, whatever it says; a person's at another time is not."""
    history = [_row(7, "STATUS", "2026-12-01T10:00:00+03:00", 55), _row(8, "COMMENT", "2026-12-01T10:05:00+03:00", 55)]
    service = comment(id=1, author_id=55, text="Статус: Завершена (новая формулировка)", date="2026-12-01T10:00:01+03:00")
    human = comment(id=2, author_id=55, text="Задача завершена, акт подписан", date="2026-12-01T10:05:00+03:00")
    marked = mark_service_comments([service, human], history, new_service=1)
    assert [c.system for c in marked] == [True, False]
    assert [c.system for c in mark_service_comments([service, human], history, new_service=0)] == [False, False]
    other = comment(id=3, author_id=77, text="said by someone else in that second", date="2026-12-01T10:00:00+03:00")
    assert [c.system for c in mark_service_comments([other], history, new_service=1)] == [False]


# --------------------------------------------------------------------------- events


@pytest.mark.parametrize("field, kind", [
    ("STATUS", "status"), ("REAL_STATUS", "status"), ("DEADLINE", "deadline"),
    ("RESPONSIBLE_ID", "responsible"), ("TITLE", "title"),
    ("COMMENT", None), ("NEW", None), ("DESCRIPTION", None), ("AUDITORS", None), ("CHECKLIST_ITEM_CREATE", None),
])
def test_event_kind(field, kind):
    assert event_kind(event(field=field)) == kind


def test_event_verdict_by_configured_kinds():
    default = Rules()  # status, deadline, subtask
    assert event_verdict(event("STATUS"), rules=default) is None
    assert event_verdict(event("DEADLINE", None, "2025-06-19T18:00:00+03:00"), rules=default) is None
    assert event_verdict(event("RESPONSIBLE_ID", "2", "3"), rules=default) == REASON_EVENT_KIND
    assert event_verdict(event("TITLE", "a", "b"), rules=default) == REASON_EVENT_KIND
    assert event_verdict(event("COMMENT", None, "3409"), rules=default) == REASON_EVENT_KIND
    everything = Rules(events=("status", "deadline", "subtask", "responsible", "title"))
    assert event_verdict(event("RESPONSIBLE_ID", "2", "3"), rules=everything) is None
    assert event_verdict(event("TITLE", "a", "b"), rules=everything) is None
    assert event_verdict(event("STATUS"), rules=Rules(events=("deadline",))) == REASON_EVENT_KIND


def test_event_that_changes_nothing_is_empty():
    rules = Rules(events=("status", "deadline", "title"))
    assert event_verdict(event("STATUS", "3", "3"), rules=rules) == REASON_EMPTY
    assert event_verdict(event("TITLE", "same", "same"), rules=rules) == REASON_EMPTY
    assert event_verdict(event("DEADLINE", None, ""), rules=rules) == REASON_EMPTY
    assert event_verdict(event("DEADLINE", "0", None), rules=rules) == REASON_EMPTY
    # The same moment written once as a unix timestamp and once as an ISO date.
    assert event_verdict(event("DEADLINE", "1749754800", "2025-06-12T22:00:00+03:00"), rules=rules) == REASON_EMPTY
    assert event_verdict(event("DEADLINE", "1749754800", "2025-06-13T22:00:00+03:00"), rules=rules) is None


def test_kind_is_checked_before_emptiness():
    assert event_verdict(event("TITLE", "a", "a"), rules=Rules()) == REASON_EVENT_KIND


def test_dedupe_status_rows():
    status = event("STATUS", "2", "3", event_id=1)
    real_twin = event("REAL_STATUS", "2", "3", event_id=2)
    real_other_value = event("REAL_STATUS", "3", "5", event_id=3)
    real_other_date = event("REAL_STATUS", "2", "3", event_id=4, date="2025-06-11T12:00:00+03:00")
    real_other_task = event("REAL_STATUS", "2", "3", event_id=5, task_id=124)
    deadline = event("DEADLINE", None, "1749754800", event_id=6)
    rows = [real_twin, status, real_other_value, real_other_date, real_other_task, deadline]
    assert [row.id for row in dedupe_status_rows(rows)] == [1, 3, 4, 5, 6]


def test_dedupe_keeps_lone_real_status_rows():
    rows = [event("REAL_STATUS", "2", "3", event_id=2)]
    assert dedupe_status_rows(iter(rows)) == rows
