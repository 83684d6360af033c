"""Rewrites of mirrors after a source edit: every rewrite passes the verdict a first post would."""
import re
from dataclasses import replace

import pytest

from b24mirror.policy.edits import DELETED, WITHDRAWN, plan_updates, source_hash
from b24mirror.policy.models import WORLD_CHAT, Comment, Marker, Task, User, find_markers
from b24mirror.config.settings import GroupConfig, Rules

ME, ANNA, BORIS = 7, 11, 12


def task(tid, parent, group=42):
    return Task(id=tid, title=f"Task {tid}", group_id=group, parent_id=parent, status=3, created_by=ANNA,
                responsible_id=ANNA, created_date="2026-06-01T10:00:00+03:00",
                changed_date="2026-06-01T10:00:00+03:00", chat_id=tid * 10)


MASTER = task(100, None)
TASKS = {t.id: t for t in (MASTER, task(101, 100), task(102, 101), task(103, 102))}
GROUP = GroupConfig(id=42, master_task=100, language="en", on_edit="update", on_delete="mark",
                    rules=Rules(hide_patterns=(re.compile(r"^#internal", re.M),),
                                redact_patterns=(re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b"),)))
USERS = {ANNA: User(ANNA, "Anna Petrova"), BORIS: User(BORIS, "Boris Ivanov")}


def message(text, author=ANNA, **kw):
    base = dict(id=5, task_id=101, author_id=author, author_name="", date="2026-06-02T12:00:00+03:00", text=text,
                world=WORLD_CHAT, edited=True)
    base.update(kw)
    return Comment(**base)


MARKER = Marker("comment", 101, 5)
LEDGER = {str(MARKER): {"id": 900}}


def updates(msg, *, source=None, hashes=None, members=frozenset({ANNA, BORIS, ME}), tasks=TASKS, group=GROUP):
    return plan_updates(group, MASTER, source or TASKS[101], [msg], ledger=LEDGER,
                        hashes=hashes if hashes is not None else {str(MARKER): source_hash("first")},
                        users=USERS, portal_url="https://p.example", members=members, tasks=tasks, own_user_id=ME)


def withdrawn(result):
    assert len(result) == 1, result
    update = result[0]
    assert update.source_hash == WITHDRAWN and update.mirror_id == 900
    assert "Withdrawn at the source" in update.text and find_markers(update.text) == [MARKER]
    return update


def test_an_edit_that_passes_rewrites_the_mirror_redacted_as_readers_see_it():
    [update] = updates(message("card [COLOR=#000]4111 1111[/COLOR] 1111 1111 now"))
    assert "Anna Petrova" in update.text and "card [redacted] now" in update.text.replace("\u200b", "")
    assert "4111" not in update.text and update.source_hash != WITHDRAWN


@pytest.mark.parametrize("text", ["#internal now", "[B]#internal[/B] budget", "&#35;internal", "\u200b#internal"])
def test_an_edit_that_is_now_hidden_withdraws_the_mirror(text):
    update = withdrawn(updates(message(text)))
    assert "internal" not in update.text


def test_an_author_who_left_the_group_has_the_mirror_withdrawn():
    withdrawn(updates(message("still fine words"), members=frozenset({BORIS, ME})))
    withdrawn(updates(message("still fine words"), members=frozenset()))


def test_an_excluded_author_has_the_mirror_withdrawn():
    group = replace(GROUP, rules=replace(GROUP.rules, exclude_authors=(ANNA,)))
    withdrawn(updates(message("fine words"), group=group))


def test_an_extranet_author_is_withdrawn_only_when_extranet_is_excluded():
    users = dict(USERS)
    users[ANNA] = User(ANNA, "Anna Petrova", extranet=True)
    kw = dict(ledger=LEDGER, hashes={}, portal_url="", members={ANNA}, tasks=TASKS, own_user_id=ME, users=users)
    assert plan_updates(GROUP, MASTER, TASKS[101], [message("ok")], **kw)[0].source_hash != WITHDRAWN
    strict = replace(GROUP, rules=replace(GROUP.rules, exclude_extranet=True))
    withdrawn(plan_updates(strict, MASTER, TASKS[101], [message("ok")], **kw))


def test_a_source_moved_out_of_the_subtree_has_the_mirror_withdrawn():
    moved = {**TASKS, 101: replace(TASKS[101], group_id=77)}
    withdrawn(updates(message("fine words"), source=moved[101], tasks=moved))
    deeper = replace(TASKS[103], id=101, parent_id=103)
    withdrawn(updates(message("fine words"), source=deeper, tasks={**TASKS, 101: deeper}))
    no_group = replace(TASKS[101], group_id=None)
    withdrawn(updates(message("fine words"), source=no_group, tasks={**TASKS, 101: no_group}))


def test_a_withdrawn_mirror_is_withdrawn_once_and_never_rewritten():
    hashes = {str(MARKER): WITHDRAWN}
    assert updates(message("#internal again"), hashes=hashes) == []
    assert updates(message("clean words now"), hashes=hashes) == []
    assert updates(message("gone", deleted=True), hashes=hashes) == []


def test_a_deleted_mirror_is_not_rewritten_by_a_later_edit():
    assert updates(message("clean words"), hashes={str(MARKER): DELETED}) == []


def test_without_the_members_the_membership_rule_is_not_judged():
    result = plan_updates(GROUP, MASTER, TASKS[101], [message("fine")], ledger=LEDGER, hashes={}, users=USERS,
                          portal_url="")
    assert len(result) == 1 and result[0].source_hash == source_hash("fine")


# Forum comments carry no edit flag: the text differing from the one mirrored is the edit.
def classic(text, **kw):
    return message(text, world="classic", edited=False, **kw)


def test_a_classic_comment_whose_text_moved_is_rewritten_once():
    [update] = updates(classic("second"))
    assert "second" in update.text and update.source_hash == source_hash("second")
    assert updates(classic("second"), hashes={str(MARKER): source_hash("second")}) == []


def test_a_classic_comment_without_a_recorded_hash_is_left_alone():
    assert updates(classic("second"), hashes={}) == []


def test_a_classic_edit_now_hidden_is_withdrawn_and_a_gone_one_marked_deleted():
    withdrawn(updates(classic("#internal second")))
    [gone] = updates(classic("", deleted=True))
    assert gone.source_hash == DELETED and "The source comment was deleted" in gone.text


# A lost state: no hash, the mirror's text as the master shows it is what the source is compared with.
def shown_as(text):
    return dict(hashes={}, shown={str(MARKER): text})


def plan_shown(msg, text):
    return plan_updates(GROUP, MASTER, TASKS[101], [msg], ledger=LEDGER, users=USERS, portal_url="https://p.example",
                        members=frozenset({ANNA, BORIS, ME}), tasks=TASKS, own_user_id=ME, **shown_as(text))


def test_after_a_lost_state_only_a_mirror_whose_body_differs_is_rewritten():
    [now] = updates(classic("the same words"))
    header, _, body = now.text.partition("\n")
    renamed = header.replace("Anna Petrova", "Anna Sokolova").replace("Task 101", "Task 101, final")
    [same] = plan_shown(classic("the same words"), f"{renamed}\n{body}")
    assert not same.write and same.source_hash == source_hash("the same words")
    [edited] = plan_shown(classic("new words"), f"{header}\n{body}")
    assert edited.write and "new words" in edited.text


@pytest.mark.parametrize("final", [DELETED, WITHDRAWN])
def test_after_a_lost_state_a_marked_or_withdrawn_mirror_stays_final(final):
    [note] = updates(message("#internal now") if final == WITHDRAWN else classic("", deleted=True))
    shown = note.text.replace(str(MARKER), f"{MARKER}~since=1780000000")  # as posted: the baseline on its marker
    for msg in (message("clean words again"), classic("clean words again")):
        [kept] = plan_shown(msg, shown)
        assert not kept.write and kept.source_hash == final
