"""The switch to the new task card while a client runs (cardswitch.py): old tasks get their chat lazily, with
system notices, keep their forum comments, and every new comment lands in the chat."""
from __future__ import annotations

import pytest

from .conftest import Http, make_portal
from b24mirror.fakeportal import serve


def _get(api: Http, tid: int) -> dict:
    return api.call("tasks.task.get", {"taskId": tid})[1]["result"]["task"]


@pytest.mark.parametrize("opened_by", ["on_get", "on_open"])
def test_a_switched_task_keeps_its_forum_and_talks_in_a_chat(opened_by):
    p = make_portal({"chat_for_switched_task": opened_by})
    old = p.add_comment(p.classic, p.bob, "said on the classic card")
    with serve(p) as srv:
        api = Http(srv.webhook_url(p.admin, p.secret))
        assert _get(api, p.classic)["chatId"] is None  # not switched yet: reading changes nothing
        p.switch_to_new_card(p.gid)
        chat_id = _get(api, p.classic)["chatId"]
        assert (chat_id is not None) == (opened_by == "on_get")
        status, answer = api.call("task.commentitem.add", [p.classic, {"POST_MESSAGE": "said after the switch"}])
        new_id = answer["result"]
        chat_id = _get(api, p.classic)["chatId"]
        messages = api.call("im.dialog.messages.get", {"DIALOG_ID": f"chat{chat_id}", "FIRST_ID": 0})[1]
        texts = [(m["author_id"], m["text"]) for m in messages["result"]["messages"]]
        assert texts[0][0] == 0 and texts[1][0] == 0 and "old format" in texts[1][1], texts
        assert (p.admin, "said after the switch") in texts
        assert new_id in [m["id"] for m in messages["result"]["messages"]]  # add answers the message id
        forum = api.call("task.commentitem.getlist", [p.classic, {"ID": "asc"}])[1]["result"]
        assert [int(c["ID"]) for c in forum] == [old]  # the old comment stays, the new one is not there
        assert int(_get(api, p.classic)["commentsCount"]) == 1
        born = p.add_task("After the switch", created_by=p.admin, group_id=p.gid)
        assert _get(api, born)["chatId"]  # born on the new card
        elsewhere = p.add_group("Elsewhere", owner_id=p.admin, members=[p.bob])
        stays = p.add_task("Still classic", created_by=p.admin, group_id=elsewhere)
        assert _get(api, stays)["chatId"] is None  # the switch was for one group only
