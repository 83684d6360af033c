"""tasks.task.result.list / addFromComment / deleteFromComment (scope task), an engine controller: camelCase out.

The list answers on both cards (new-card results carry commentId 0); the comment-based methods work on classic
tasks only, as the migration table says.
"""
from __future__ import annotations

from typing import Any

from b24mirror.fakeportal.dispatch import Caller, method, to_int
from b24mirror.fakeportal.errors import task_error
from b24mirror.fakeportal.params import ci_get


def _row(p, result) -> dict:
    return {"id": result.id, "taskId": result.task_id, "commentId": result.comment_id,
            "createdBy": result.created_by, "createdAt": p.out_date(result.created),
            "updatedAt": p.out_date(result.updated), "status": result.status, "text": result.text,
            "formattedText": result.text, "files": []}


def _visible_task(p, caller: Caller, tid: Any):
    task = p.tasks.get(to_int(tid) or 0)
    if task is None or not p.can_see(task, caller.user_id):
        raise task_error("ACCESS_DENIED", "Access denied.")
    return task


@method("tasks.task.result.list", "task")
def result_list(p, caller: Caller, params: dict) -> Any:
    task = _visible_task(p, caller, ci_get(params, "taskId") if isinstance(params, dict) else None)
    return [_row(p, r) for r in p.task_results(task.id)]


def _comment_task(p, caller: Caller, params: dict):
    cid = to_int(ci_get(params, "commentId") if isinstance(params, dict) else None)
    for task in p.tasks.values():
        if not task.new_card and p.find_comment(task, cid or 0) is not None:
            _visible_task(p, caller, task.id)
            return task, cid
    raise task_error("ACCESS_DENIED", "Access denied.")


@method("tasks.task.result.addFromComment", "task")
def add_from_comment(p, caller: Caller, params: dict) -> Any:
    task, cid = _comment_task(p, caller, params)
    return _row(p, p.results[p.mark_result(task.id, cid, by=caller.user_id)])


@method("tasks.task.result.deleteFromComment", "task")
def delete_from_comment(p, caller: Caller, params: dict) -> Any:
    task, cid = _comment_task(p, caller, params)
    for result in p.task_results(task.id):
        if result.comment_id == cid:
            p.delete_result(result.id, by=caller.user_id)
    return True
