"""Task results (tasks lib Internals/Task/Result, V2 results): a comment or chat message marked as the outcome.

On a classic task a forum comment becomes a result (tasks.task.result.addFromComment) and stops being one
(deleteFromComment); a result's text is its comment's. On the new card a chat message is marked as the result
(REST 3.0 tasks.task.result.addfromchatmessage / update / delete); tasks.task.result.list answers on both cards,
with commentId 0 on the new card. Adding, changing or removing a result moves the task's ACTIVITY_DATE and, on
the new card, posts a system notice in the task chat (Im/Action/NotifyResult*).
"""
from __future__ import annotations

from b24mirror.fakeportal.model import Result, Task

NOTICES = {"add": "{name} marked the result", "update": "{name} changed the result",
           "delete": "{name} removed the result"}


class ResultMixin:
    def task_results(self, tid: int) -> list[Result]:
        return sorted((r for r in self.results.values() if r.task_id == tid), key=lambda r: r.id)

    def _touched(self, task: Task, by: int, what: str) -> None:
        task.activity = self.now_ts()
        user = self.users.get(by)
        self._system_message(task, NOTICES[what].format(name=user.full_name if user else f"user {by}"),
                             "TASK_RESULT")

    def mark_result(self, tid: int, source_id: int, by: int | None = None) -> int:
        """Mark a comment (classic: forum comment id) or a chat message (new card: message id) as the result."""
        with self.lock:
            task = self.tasks[tid]
            if task.new_card:
                msg = self.find_message(source_id)
                if msg is None or msg.chat_id != task.chat_id or msg.deleted:
                    raise KeyError(f"no message {source_id} in the chat of task {tid}")
                author, text, comment_id, message_id = msg.author_id, msg.text, 0, msg.id
            else:
                comment = self.find_comment(task, source_id)
                if comment is None:
                    raise KeyError(f"no comment {source_id} in task {tid}")
                author, text, comment_id, message_id = comment.author_id, comment.text, comment.id, 0
            now = self.now_ts()
            result = Result(self._next("result"), tid, author, text, now, now, comment_id, message_id)
            self.results[result.id] = result
            self._touched(task, by or author, "add")
            return result.id

    def add_result(self, tid: int, uid: int, text: str) -> int:
        """A person writes the outcome and marks it at once: a comment (or chat message) that is the result."""
        return self.mark_result(tid, self.add_comment(tid, uid, text), by=uid)

    def update_result(self, result_id: int, text: str, by: int | None = None) -> None:
        with self.lock:
            result = self.results[result_id]
            result.text, result.updated = text, self.now_ts()
            self._touched(self.tasks[result.task_id], by or result.created_by, "update")

    def delete_result(self, result_id: int, by: int | None = None) -> None:
        with self.lock:
            result = self.results.pop(result_id)
            self._touched(self.tasks[result.task_id], by or result.created_by, "delete")
