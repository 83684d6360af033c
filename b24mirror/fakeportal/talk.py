"""The comments of both worlds: forum comments of classic tasks and task-chat messages of new-card tasks.

Rules from tasks lib/integration/forum/task/comment.php: a new comment moves only the task's ACTIVITY_DATE;
its author, and every [USER=n] mentioned in it, who is not yet a participant becomes an auditor (a task update:
changedDate moves, an AUDITORS history row). A service comment is an ordinary forum row over REST (the forum
keeps SERVICE_TYPE / UF_TASK_COMMENT_TYPE, which task.commentitem.* never return)."""
from __future__ import annotations

import re
import uuid as uuid_mod
from typing import Any

from b24mirror.fakeportal import chatpages
from b24mirror.fakeportal.model import Chat, Comment, Message, Task

MENTION = re.compile(r"\[USER=(\d+)[^\]]*\]", re.IGNORECASE)


class TalkMixin:
    # ---- comments, both worlds ------------------------------------------------------------------------
    def _attachments(self, attachments: Any, int_id: bool = False) -> dict[str, dict]:
        """Disk attachments keyed by attachment id. The comment sample has ATTACHMENT_ID as a string, the
        checklist sample as an int: kept as documented."""
        out: dict[str, dict] = {}
        for item in attachments or ():
            spec = {"name": item} if isinstance(item, str) else dict(item)
            att, fid = self._next("attachment"), self._next("file")
            url = f"/bitrix/tools/disk/uf.php?attachedId={att}&action="
            out[str(att)] = {"ATTACHMENT_ID": att if int_id else str(att), "NAME": spec.get("name", f"file{att}.bin"),
                             "SIZE": str(spec.get("size", 1024 + att)), "FILE_ID": str(fid),
                             "DOWNLOAD_URL": url + "download&ncc=1", "VIEW_URL": url + "show&ncc=1"}
        return out

    def add_comment(self, tid: int, uid: int, text: str, attachments: Any = None) -> int:
        """Classic task: a forum comment (-> comment id). New-card task: a chat message (-> message id)."""
        with self.lock:
            task = self.tasks[tid]
            self.open_card(task)  # a person writing opens the card: a switched task gets its chat first
            if task.new_card:
                params: dict = {}
                if attachments:
                    files = self._attachments(attachments).values()
                    params["FILE_ID"] = [int(a["FILE_ID"]) for a in files]
                    for a in files:  # the chat lists a message's files beside its messages (files[])
                        self.chat_files[int(a["FILE_ID"])] = {"chat": task.chat_id, "author": uid, **a}
                return self.post_message(self.chats[task.chat_id], uid, text, params).id
            comment = self._forum_post(task, uid, text, attachments=self._attachments(attachments))
            self._watch_from_comment(task, uid, text)
            return comment.id

    def _forum_post(self, task: Task, uid: int, text: str, **extra: Any) -> Comment:
        """One forum row: the topic opens with the first one (its first message, which REST never lists), the
        task's ACTIVITY_DATE moves, and a COMMENT history row names the comment."""
        if not any(c.topic_start for c in task.comments):
            task.comments.append(Comment(self._next("comment"), task.id, task.created_by, task.title, self.now_ts(),
                                         topic_start=True))
        comment = Comment(self._next("comment"), task.id, uid, text, self.now_ts(), **extra)
        task.comments.append(comment)
        task.activity = comment.date
        self._history(task, "COMMENT", None, str(comment.id), uid)
        return comment

    def _watch_from_comment(self, task: Task, author: int, text: str) -> None:
        """The author and the [USER=n] mentions who are not participants yet become auditors: a task update."""
        named = [author, *(int(n) for n in MENTION.findall(text))]
        newcomers = [u for u in dict.fromkeys(named) if u in self.users and u not in task.participants()]
        if newcomers:
            self.update_fields(task.id, {"AUDITORS": task.auditors + newcomers}, author)

    def add_system_comment(self, tid: int, text: str, by: int | None = None, code: str = "TASK_SYSTEM") -> int:
        """Classic: a service forum row (no flag over REST), authored by `by` or the creator, with its COMMENT
        history row. New card: a system chat message, author 0, params.CODE."""
        with self.lock:
            task = self.tasks[tid]
            self.open_card(task)
            if task.new_card:
                return self._system_message(task, text, code).id
            return self._forum_post(task, by or task.created_by, text, service=True).id

    def post_message(self, chat: Chat, uid: int, text: str, params: dict | None = None) -> Message:
        msg = Message(self._next("message"), chat.id, uid, text, self.now_ts(), dict(params or {}),
                      str(uuid_mod.UUID(int=self.rng.getrandbits(128))) if uid else None)
        chat.messages.append(msg)
        chatpages.mark_read(chat, uid, msg.id)  # who posts has read the chat up to their message
        self.tasks[chat.task_id].activity = msg.date
        return msg

    def _system_message(self, task: Task, text: str, code: str, **extra: str) -> Message | None:
        if not task.new_card:
            return None
        return self.post_message(self.chats[task.chat_id], 0, text, {"CODE": [code], **extra})

    def find_comment(self, task: Task, cid: int) -> Comment | None:
        return next((c for c in task.comments if c.id == int(cid) and not c.deleted and not c.topic_start), None)

    def find_message(self, mid: int) -> Message | None:
        for chat in self.chats.values():
            for msg in chat.messages:
                if msg.id == int(mid):
                    return msg
        return None

    def edit_comment(self, tid: int, cid: int, text: str) -> None:
        with self.lock:
            task = self.tasks[tid]
            if task.new_card and self.find_comment(task, cid) is None:  # a switched task keeps its forum rows
                self.edit_message(self.find_message(cid), text)
                return
            comment = self.find_comment(task, cid)
            if comment is None:
                raise KeyError(f"no comment {cid} on task {tid}")
            comment.text, comment.edited = text, True
            self._history(task, "COMMENT_EDIT", None, str(comment.id), comment.author_id)

    def edit_message(self, msg: Message | None, text: str) -> None:
        if msg is None:
            raise KeyError("no such message")
        msg.text = text
        msg.params["IS_EDITED"] = "Y"

    def delete_message(self, msg: Message | None) -> None:
        if msg is None:
            raise KeyError("no such message")
        msg.text = ""
        msg.params["IS_DELETED"] = "Y"

    def delete_comment(self, tid: int, cid: int) -> None:
        with self.lock:
            task = self.tasks[tid]
            if task.new_card and self.find_comment(task, cid) is None:
                self.delete_message(self.find_message(cid))
                return
            comment = self.find_comment(task, cid)
            if comment is None:
                raise KeyError(f"no comment {cid} on task {tid}")
            comment.deleted, comment.text = True, ""
            self._history(task, "COMMENT_DEL", None, str(comment.id), comment.author_id)

    def comments(self, tid: int) -> list[dict]:
        """The judge's view of a task's comments, the same for both worlds: its forum comments, then its chat
        (a task switched to the new card has both), each oldest first."""
        with self.lock:
            task = self.tasks[tid]
            forum = [{"id": c.id, "author_id": c.author_id, "text": c.text, "date": self.iso(c.date),
                      "system": c.service, "edited": c.edited, "deleted": c.deleted, "world": "forum"}
                     for c in task.comments if not c.topic_start]
            chat = [{"id": m.id, "author_id": m.author_id, "text": m.text, "date": self.iso(m.date),
                     "system": m.author_id == 0, "edited": m.edited, "deleted": m.deleted, "world": "chat"}
                    for m in self.chats[task.chat_id].messages] if task.new_card else []
            return forum + chat
