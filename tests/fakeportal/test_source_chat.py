"""im.dialog.messages.get as im lib/chat.php (Chat::getMessages) pages it: unread messages shape the page asked
for without FIRST_ID and LAST_ID; reading never marks a chat read, posting does."""
from __future__ import annotations

import pytest


@pytest.fixture
def chat(portal):
    """Bob's card chat: the admin joins as an auditor, Bob posts b0..b4 (he has read up to b4)."""
    portal.add_auditor(portal.card, portal.admin, by=portal.bob)
    portal.bob_posts = [portal.add_comment(portal.card, portal.bob, f"b{i}") for i in range(5)]
    return f"chat{portal.tasks[portal.card].chat_id}"


def _ids(api, **params):
    status, body = api.call("im.dialog.messages.get", params)
    assert status == 200, body
    return [m["id"] for m in body["result"]["messages"]]


def _admin_posts(portal, n):
    return [portal.add_comment(portal.card, portal.admin, f"a{i}") for i in range(n)]


def test_more_unread_than_limit_starts_at_the_last_read_message(portal, bob_api, chat):
    a = _admin_posts(portal, 12)
    b = portal.bob_posts
    # The 5 oldest unread, newest first, then the 5 messages before them, newest first.
    assert _ids(bob_api, DIALOG_ID=chat, LIMIT=5) == a[4::-1] + b[::-1]


def test_fewer_unread_than_limit_grow_the_page(portal, bob_api, chat):
    a = _admin_posts(portal, 3)
    assert _ids(bob_api, DIALOG_ID=chat, LIMIT=5) == a[::-1] + portal.bob_posts[::-1]  # 5 + 3 unread


def test_reading_never_marks_read_but_posting_does(portal, bob_api, chat):
    a = _admin_posts(portal, 8)
    first = _ids(bob_api, DIALOG_ID=chat, LIMIT=5)
    assert _ids(bob_api, DIALOG_ID=chat, LIMIT=5) == first and first[0] == a[4]
    unread = bob_api.call("im.dialog.messages.get", {"DIALOG_ID": chat, "LIMIT": 5})[1]["result"]["messages"]
    assert unread[0]["unread"] is True and unread[-1]["unread"] is False
    mine = portal.add_comment(portal.card, portal.bob, "read now")
    assert _ids(bob_api, DIALOG_ID=chat, LIMIT=5) == [mine, *a[:-5:-1]]  # the plain newest page


def test_first_id_and_last_id_ignore_unread(portal, bob_api, chat):
    a = _admin_posts(portal, 12)
    every = sorted(m.id for m in portal.chats[portal.tasks[portal.card].chat_id].messages)
    assert _ids(bob_api, DIALOG_ID=chat, FIRST_ID=0, LIMIT=4) == every[:4]  # 0 counts as given
    assert _ids(bob_api, DIALOG_ID=chat, LAST_ID=a[-1], LIMIT=3) == a[-2:-5:-1]
