"""Task results as the platform keeps them: tasks.task.result.list on both cards (commentId 0 on the new
card), addFromComment / deleteFromComment on classic comments only; each change moves activityDate and, on
the new card, posts a system notice in the task chat."""
from __future__ import annotations


def _results(api, tid):
    return api.call("tasks.task.result.list", {"taskId": tid})[1]["result"]


def test_a_classic_comment_becomes_the_result_and_stops_being_it(portal, api):
    comment = portal.add_comment(portal.classic, portal.bob, "Done: the pump is replaced")
    before = portal.tasks[portal.classic].activity
    portal.advance(60)
    status, added = api.call("tasks.task.result.addFromComment", {"commentId": comment})
    assert status == 200 and added["result"]["commentId"] == comment
    [row] = _results(api, portal.classic)
    assert row == added["result"]
    assert (row["taskId"], row["createdBy"], row["text"], row["status"]) == (portal.classic, portal.bob,
                                                                              "Done: the pump is replaced", 0)
    assert row["createdAt"] == portal.out_date(portal.results[row["id"]].created)  # as task dates come
    assert portal.tasks[portal.classic].activity > before
    assert api.call("tasks.task.result.deleteFromComment", {"commentId": comment})[1]["result"] is True
    assert _results(api, portal.classic) == []


def test_a_new_card_result_names_no_comment_and_leaves_a_notice_in_the_chat(portal, api, eve_api):
    result = portal.add_result(portal.card, portal.bob, "Load test passed")
    [row] = _results(api, portal.card)
    assert row["id"] == result and row["commentId"] == 0 and row["text"] == "Load test passed"
    notices = [m for m in portal.chats[portal.tasks[portal.card].chat_id].messages
               if m.author_id == 0 and m.params.get("CODE") == ["TASK_RESULT"]]
    assert len(notices) == 1
    portal.update_result(result, "Load test passed at 1.4x", by=portal.bob)
    assert _results(api, portal.card)[0]["text"] == "Load test passed at 1.4x"
    message = portal.chats[portal.tasks[portal.card].chat_id].messages[-1].id
    status, refused = api.call("tasks.task.result.addFromComment", {"commentId": message})
    assert status == 400 and refused["error"] == "ACCESS_DENIED"  # the comment methods do not work there
    status, hidden = eve_api.call("tasks.task.result.list", {"taskId": portal.card})
    assert status == 400 and hidden["error"] == "ACCESS_DENIED"  # results follow read access to the task
