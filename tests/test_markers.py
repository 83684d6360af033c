"""Markers name their world (policy/markers.py): `comment` for a forum comment, `message` for a chat message, and
the old form `comment` of a chat message still counting, unless its task's forum holds a comment with that id."""
from dataclasses import replace

from b24mirror.policy.markers import canonical, is_mirrored, talk_marker
from b24mirror.policy.models import WORLD_CHAT, Marker
from b24mirror.policy.plan import REASON_ALREADY, plan_group

from tests.test_plan import TASKS, comment, snapshot

SHARED = 3004  # an id the forum and the chat of one task both have
SWITCHED = replace(TASKS[101], chat_id=9, comments_count=2)  # a chat, and forum comments from before it
CHAT_ONLY = replace(TASKS[101], chat_id=9, comments_count=0)
FORUM, CHAT = Marker("comment", 101, SHARED), Marker("message", 101, SHARED)


def test_the_kind_follows_the_world_of_the_source():
    assert talk_marker(101, comment(SHARED, 101)) == FORUM
    assert talk_marker(101, comment(SHARED, 101, world=WORLD_CHAT)) == CHAT
    assert str(CHAT) == f"b24m:message:101:{SHARED}" and Marker.parse(str(CHAT)) == CHAT


def test_the_old_form_counts_for_a_chat_message_unless_the_forum_holds_its_id():
    assert is_mirrored(CHAT, {FORUM}, CHAT_ONLY, {})  # no forum at all: the old form is the message's
    assert is_mirrored(CHAT, {FORUM}, SWITCHED, {101: frozenset({3002})})  # the forum does not hold it
    assert not is_mirrored(CHAT, {FORUM}, SWITCHED, {101: frozenset({3002, SHARED})})  # the forum comment's
    assert is_mirrored(CHAT, {FORUM}, SWITCHED, {})  # forum not read whole: never posted on a guess
    assert not is_mirrored(FORUM, {CHAT}, SWITCHED, {})  # a message's marker never stands for a forum comment
    assert not is_mirrored(CHAT, set(), CHAT_ONLY, {})


def test_the_plan_posts_the_chat_message_a_forum_comment_shared_its_id_with():
    talk = [comment(SHARED, 101, text="forum"), comment(SHARED, 101, text="chat", world=WORLD_CHAT)]
    snap = snapshot(tasks={**TASKS, 101: SWITCHED}, comments={101: talk}, known=frozenset({FORUM}),
                    forums={101: frozenset({SHARED})})
    plan = plan_group(snap)
    assert [m.marker for m in plan.mirrors] == [CHAT]
    assert str(CHAT) in plan.mirrors[0].text and ">>chat" not in plan.mirrors[0].text  # forum master: [QUOTE]
    assert plan.decisions[FORUM] == REASON_ALREADY
    chat_only = plan_group(replace(snap, tasks={**TASKS, 101: CHAT_ONLY}, comments={101: talk[1:]}, forums={}))
    assert chat_only.mirrors == [] and chat_only.decisions[CHAT] == REASON_ALREADY


def test_audit_reads_an_old_form_as_the_chat_message_it_stands_for():
    talk = {101: [comment(SHARED, 101), comment(3006, 101, world=WORLD_CHAT), comment(SHARED, 101, world=WORLD_CHAT)]}
    old_chat, new_chat = Marker("comment", 101, 3006), Marker("message", 101, 3006)
    found = canonical({FORUM: [1], old_chat: [2], new_chat: [3], Marker("comment", 101, 5000): [4]}, talk)
    assert found == {FORUM: [1], new_chat: [2, 3], Marker("comment", 101, 5000): [4]}  # two mirrors of one message
