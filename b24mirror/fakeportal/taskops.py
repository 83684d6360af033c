"""Tasks and their field changes: history rows, date moves and chat system messages, as the source writes them."""
from __future__ import annotations

import uuid as uuid_mod
from typing import Any, Iterable

from b24mirror.fakeportal import chatpages, dates
from b24mirror.fakeportal.model import Chat, HistoryRow, Task


STATUS_NAMES = {1: "New", 2: "Pending", 3: "In progress", 4: "Supposedly completed", 5: "Completed",
                6: "Deferred", 7: "Declined"}

# History rows of task fields: their old value, when empty or 0, comes back as false (tasklog.php).
FIELD_ROWS = {"TITLE", "DESCRIPTION", "STATUS", "REAL_STATUS", "DEADLINE", "PARENT_ID", "GROUP_ID", "RESPONSIBLE_ID",
              "PRIORITY", "CREATED_BY", "AUDITORS", "ACCOMPLICES", "STAGE"}


class TaskMixin:
    # ---- tasks ------------------------------------------------------------------------------------------
    def add_task(self, title: str, created_by: int, responsible_id: int | None = None, group_id: int | None = 0,
                 parent_id: int | None = None, new_card: bool = False, auditors: Iterable[int] = (),
                 accomplices: Iterable[int] = (), deadline: Any = None, status: int = 2,
                 description: str = "", priority: int = 1) -> int:
        with self.lock:
            now = self.now_ts()
            tid = self._next("task")
            task = Task(tid, title, created_by, responsible_id or created_by, now, group_id or 0, parent_id or None,
                        status, priority, description, self._date_value(deadline), now, created_by, now, now,
                        created_by, forum_topic_id=self._next("topic"),
                        guid="{" + str(uuid_mod.UUID(int=self.rng.getrandbits(128))) + "}")
            task.auditors = list(dict.fromkeys(auditors))
            task.accomplices = list(dict.fromkeys(accomplices))
            if status == 5:
                task.closed_by, task.closed = created_by, now
            self.tasks[tid] = task
            self._history(task, "NEW", None, None, created_by)
            if new_card or self.card_is_new(group_id):
                chat = Chat(self._next("chat"), tid)
                self.chats[chat.id] = chat
                task.chat_id = chat.id
                chatpages.sync_relations(self, task)
                self._system_message(task, f"{self._mention(created_by)} created the task", "TASK_CREATED")
            return tid

    def _date_value(self, value: Any) -> float | None:
        if value in (None, "", 0):
            return None
        ts = dates.parse(value, self.tz)
        if ts is None:
            raise ValueError(f"unparseable date {value!r}")
        return ts

    def task(self, tid: int) -> dict:
        """Internal view of a task (a copy), for tests that judge what the portal holds."""
        with self.lock:
            t = self.tasks[tid]
            return {"id": t.id, "title": t.title, "status": t.status, "created_by": t.created_by,
                    "responsible_id": t.responsible_id, "group_id": t.group_id, "parent_id": t.parent_id,
                    "deadline": self.iso(t.deadline), "created": self.iso(t.created), "changed": self.iso(t.changed),
                    "activity": self.iso(t.activity), "auditors": list(t.auditors), "accomplices": list(t.accomplices),
                    "new_card": t.new_card, "chat_id": t.chat_id, "participants": sorted(t.participants()),
                    "comments_count": self.comments_count(t), "description": t.description}

    def comments_count(self, task: Task) -> int:
        return sum(1 for c in task.comments if not c.deleted and not c.topic_start)

    def update_fields(self, tid: int, fields: dict, by: int) -> None:
        """Apply UPPER_CASE field changes with history rows, date moves and chat system messages."""
        with self.lock:
            task = self.tasks[tid]
            self.open_card(task)  # whoever changes a task of a switched group opens its card
            changed = False
            for key, value in fields.items():
                changed |= self._apply(task, key.upper(), value, by)
            if changed:
                task.changed = task.activity = self.now_ts()
                task.changed_by = by

    def _ids_list(self, value: Any) -> list[int]:
        if value in (None, "", []):
            return []
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [int(v) for v in value if str(v).strip() not in ("", "0")]

    def _apply(self, task: Task, key: str, value: Any, by: int) -> bool:
        if key in ("TITLE", "DESCRIPTION"):
            attr = key.lower()
            old = getattr(task, attr)
            if str(value) == old:
                return False
            setattr(task, attr, str(value))
            self._history(task, key, old, str(value), by)
            return True
        if key in ("STATUS", "REAL_STATUS"):
            new = int(value)
            if new == task.status:
                return False
            old, task.status = task.status, new
            task.status_changed, task.status_changed_by = self.now_ts(), by
            task.closed_by, task.closed = (by, self.now_ts()) if new == 5 else (0, None)
            self._history(task, "STATUS", str(old), str(new), by)
            if self.readings["status_history_rows"] == "status_and_real_status":
                self._history(task, "REAL_STATUS", str(old), str(new), by)
            self._system_message(task, f"{self._mention(by)} changed the task status to \"{STATUS_NAMES.get(new, new)}\"",
                                 "TASK_STATUS_CHANGED")
            return True
        if key == "DEADLINE":
            new = self._date_value(value)
            if new == task.deadline:
                return False
            old, task.deadline = task.deadline, new
            self._history(task, "DEADLINE", self._deadline_text(task, old), self._deadline_text(task, new), by)
            self._system_message(task, f"{self._mention(by)} changed the deadline to {self.iso(new) or 'none'}",
                                 "TASK_DEADLINE_CHANGED")
            return True
        if key == "STAGE_ID":
            new = int(value or 0)
            if new == task.stage_id:
                return False
            old, task.stage_id = task.stage_id, new
            self._history(task, "STAGE", str(old), str(new), by)
            return True
        if key in ("PARENT_ID", "GROUP_ID", "RESPONSIBLE_ID", "PRIORITY", "CREATED_BY"):
            new = int(value or 0)
            attr = key.lower() if key != "CREATED_BY" else "created_by"
            old = getattr(task, attr) or 0
            if key == "PARENT_ID":
                if new == task.id:
                    from b24mirror.fakeportal.errors import core_error
                    raise core_error("Cannot bind the node to itself")
                if new and new not in self.tasks:
                    from b24mirror.fakeportal.errors import core_error
                    raise core_error("Parent task not found")
            if new == old:
                return False
            before = task.participants()
            setattr(task, attr, (new or None) if key == "PARENT_ID" else new)
            self._history(task, key, str(old), str(new), by)
            self._joined(task, before, by)
            return True
        if key in ("AUDITORS", "ACCOMPLICES"):
            attr = key.lower()
            new = list(dict.fromkeys(self._ids_list(value)))
            old = getattr(task, attr)
            if new == old:
                return False
            before = task.participants()
            setattr(task, attr, new)
            self._history(task, key, ",".join(map(str, sorted(old))), ",".join(map(str, sorted(new))), by)
            self._joined(task, before, by)
            return True
        return False  # other fields are accepted and ignored, as the portal ignores unknown keys

    def _deadline_text(self, task: Task, ts: float | None) -> str:
        if ts is None:
            return ""
        unix = self.readings["deadline_history_values"] == "unix" or task.id % 2 == 0
        return str(int(ts)) if unix else self.iso(ts)

    def _joined(self, task: Task, before: set[int], by: int) -> None:
        chatpages.sync_relations(self, task)
        for uid in sorted(task.participants() - before):
            self._system_message(task, f"{self._mention(by)} invited {self._mention(uid)} to the chat", "CHAT_JOIN",
                                 notify="N")

    def _mention(self, uid: int) -> str:
        user = self.users.get(uid)
        return f"[USER={uid} REPLACE]{user.full_name if user else uid}[/USER]"

    def _history(self, task: Task, field: str, old: Any, new: Any, by: int) -> None:
        if field in FIELD_ROWS and old in (None, "", "0", 0):
            old = False
        task.history.append(HistoryRow(self._next("history"), task.id, self.now_ts(), field, old, new, by))

    # Python API for "what people do between runs" ----------------------------------------------------


class TaskActionsMixin:
    """What people do to tasks, in the Python API tests use: each an update_fields call."""

    def move_task(self, tid: int, *, parent_id: int | None = ..., group_id: int | None = ..., by: int | None = None) -> None:
        fields = {}
        if parent_id is not ...:
            fields["PARENT_ID"] = parent_id or 0
        if group_id is not ...:
            fields["GROUP_ID"] = group_id or 0
        self.update_fields(tid, fields, by or self.tasks[tid].created_by)

    def set_status(self, tid: int, status: int, by: int | None = None) -> None:
        self.update_fields(tid, {"STATUS": status}, by or self.tasks[tid].responsible_id)

    def set_deadline(self, tid: int, deadline: Any, by: int | None = None) -> None:
        self.update_fields(tid, {"DEADLINE": deadline}, by or self.tasks[tid].created_by)

    def set_field(self, tid: int, field: str, value: Any, by: int | None = None) -> None:
        self.update_fields(tid, {field: value}, by or self.tasks[tid].created_by)

    def add_auditor(self, tid: int, uid: int, by: int | None = None) -> None:
        with self.lock:
            task = self.tasks[tid]
            if uid not in task.auditors:
                self.update_fields(tid, {"AUDITORS": task.auditors + [uid]}, by or task.created_by)

    def set_stage(self, tid: int, stage_id: int, by: int | None = None) -> None:
        """A move on the kanban/scrum board: a STAGE history row; like any field change it moves changedDate."""
        self.update_fields(tid, {"STAGE_ID": stage_id}, by or self.tasks[tid].created_by)

    def attach_files(self, tid: int, names: Iterable[str], by: int | None = None) -> list[int]:
        """Files attached to the task itself (not to a comment): a NEW_FILES row naming them."""
        with self.lock:
            task = self.tasks[tid]
            ids = [int(a["FILE_ID"]) for a in self._attachments(list(names)).values()]
            task.files.extend(ids)
            self._file_change(task, "NEW_FILES", ids, by or task.created_by)
            return ids

    def detach_files(self, tid: int, file_ids: Iterable[int], by: int | None = None) -> None:
        with self.lock:
            task = self.tasks[tid]
            gone = [f for f in file_ids if f in task.files]
            task.files = [f for f in task.files if f not in gone]
            self._file_change(task, "DELETED_FILES", gone, by or task.created_by)

    def _file_change(self, task: Task, field: str, ids: list[int], by: int) -> None:
        if ids:
            self._history(task, field, None, ",".join(map(str, sorted(ids))), by)
            task.changed = task.activity = self.now_ts()
            task.changed_by = by

    def add_accomplice(self, tid: int, uid: int, by: int | None = None) -> None:
        with self.lock:
            task = self.tasks[tid]
            if uid not in task.accomplices:
                self.update_fields(tid, {"ACCOMPLICES": task.accomplices + [uid]}, by or task.created_by)

