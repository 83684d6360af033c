"""FakePortal: the in-memory portal, its clock, and the Python API tests use to act as people do.

Readings where the platform is not settled are switches (readings.py; FakePortal(readings=...), --reading):
list_chat_id, date_format, chat_history_for_new_members, history_default_order, deadline_history_values,
status_history_rows. Each defaults to the reading harder for a client.

Facts taken from the platform's own source (see where-the-docs-are-silent.md), always on:
- Dates: a new comment or chat message moves activityDate, never changedDate; a field change moves both; a new
  subtask changes nothing on its parent. tasks.task.list date filters go through strtotime: one it cannot read
  is 1970, no error.
- Comments (forum/task/comment.php): commentsCount counts forum comments, service ones included
  (serviceCommentsCount those). A comment by a non-participant, and each [USER=n] mention of one, adds them as
  auditors (changedDate moves, an AUDITORS row). task.commentitem.getlist returns every row, never the topic's
  first message, in no set order unless asked. Service comments carry no flag over REST (the forum keeps
  SERVICE_TYPE / UF_TASK_COMMENT_TYPE, which task.commentitem.* never select) and write a COMMENT history row.
- History (tasklog.php, history.php): filter keys CREATED_DATE, USER_ID, TASK_ID, FIELD; array values sorted and
  comma-joined; an empty or 0 old value of a field row is false; rows NEW, field rows, COMMENT, COMMENT_EDIT,
  COMMENT_DEL, NEW_FILES, DELETED_FILES, STAGE, CHECKLIST_*.
- New-card tasks own a chat: system messages have author_id 0 and params.CODE; participants are the creator,
  responsible, accomplices and auditors (admins included, nobody else reads). Pages follow Chat::getMessages
  (chatpages.py): unread messages shape a page without FIRST_ID/LAST_ID; posting marks read, reading never.
- batch (batch.py), the REST core (dispatch.py, methods/core.py) and groups (methods/users.py) as
  rest_provider.php, rest.php and socialnetwork rest.php have them.
- Edited chat messages carry params IS_EDITED=Y; deleted ones keep their row with IS_DELETED=Y and empty text.
- Visibility: an admin, a task participant or an active member of the task's group sees the task. Editing
  takes an admin, the creator, the responsible person, or the group's owner/moderator.
"""
from __future__ import annotations

import random
import threading
import time
import uuid as uuid_mod
from datetime import datetime
from typing import Any, Callable, Iterable

from b24mirror.fakeportal import chatpages, dates
from b24mirror.fakeportal import readings as readings_mod
from b24mirror.fakeportal.checklists import ChecklistMixin
from b24mirror.fakeportal.faults import Faults
from b24mirror.fakeportal.limits import PLANS, LeakyBucket, OperatingBudget
from b24mirror.fakeportal.model import Chat, ChecklistItem, Group, HistoryRow, Task, Token, User, Webhook
from b24mirror.fakeportal.stats import LogEntry, Stats
from b24mirror.fakeportal.talk import TalkMixin

STATUS_NAMES = {1: "New", 2: "Pending", 3: "In progress", 4: "Supposedly completed", 5: "Completed",
                6: "Deferred", 7: "Declined"}
ACCESS_TOKEN_LIFETIME = 3600


# History rows of task fields: their old value, when empty or 0, comes back as false (tasklog.php).
FIELD_ROWS = {"TITLE", "DESCRIPTION", "STATUS", "REAL_STATUS", "DEADLINE", "PARENT_ID", "GROUP_ID", "RESPONSIBLE_ID",
              "PRIORITY", "CREATED_BY", "AUDITORS", "ACCOMPLICES", "STAGE"}


class FakePortal(TalkMixin, ChecklistMixin):
    def __init__(self, seed: int | None = 0, limits: str | None = None, time_scale: float = 1.0,
                 tz: str = "+03:00", domain: str = "demo.bitrix24.test", clock: Callable[[], float] | None = None,
                 start: float | datetime | None = None, operating_limit: float = 480.0,
                 operating_cost: float | dict = 0.0, readings: readings_mod.ReadingsSpec = None):
        """clock: a callable giving seconds (default time.time); the portal's time runs at time_scale times
        its pace from `start` (default: now), plus whatever advance() adds. limits: None (off),
        "standard" (burst 50, 2/s) or "enterprise" (250, 5/s); the operating budget is on with either.
        readings: where the platform is not settled (see readings.py): a mapping name -> value, or names
        ('NAME' or 'NAME=VALUE'); every reading not named keeps its default, the harder one for a client."""
        if limits not in (None, *PLANS):
            raise ValueError(f"limits must be None, 'standard' or 'enterprise', not {limits!r}")
        self.lock = threading.RLock()
        self.readings = readings_mod.resolve(readings)
        self.seed = seed
        self.rng = random.Random(seed)
        self.tz = dates.parse_tz(tz)
        self.tz_text = tz
        self.domain = domain
        self.time_scale = float(time_scale)
        self._clock = clock or time.time
        self._clock0 = self._clock()
        if isinstance(start, datetime):
            start = start.timestamp()
        self._start = float(start) if start is not None else float(int(time.time()))
        self._advanced = 0.0
        self.limits = limits
        self.bucket = LeakyBucket(*PLANS[limits]) if limits else None
        self.operating = OperatingBudget(operating_limit, operating_cost)
        self.faults = Faults(seed)
        self.stats = Stats()
        self.request_log: list[LogEntry] = []

        self.users: dict[int, User] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.apps: dict[str, str] = {}  # client_id -> client_secret
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.groups: dict[int, Group] = {}
        self.tasks: dict[int, Task] = {}
        self.chats: dict[int, Chat] = {}
        self.checklist: dict[int, ChecklistItem] = {}
        # Separate id spaces, so a client that confuses a comment id with a message id gets caught.
        self._ids = {"user": 0, "group": 0, "task": 100, "comment": 3000, "message": 84000, "chat": 1400,
                     "history": 16000, "checklist": 400, "attachment": 970, "file": 4700, "topic": 1400,
                     "relation": 500, "group_relation": 60}

    # ---- clock -------------------------------------------------------------------------------------
    def now_ts(self) -> float:
        return self._start + (self._clock() - self._clock0) * self.time_scale + self._advanced

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ts(), self.tz)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self._advanced += seconds

    def iso(self, ts: float | None) -> str | None:
        return dates.iso(ts, self.tz)

    def out_date(self, ts: float | None) -> str | None:
        """A task, history or comment date as the portal answers it: ISO 8601, or the site format under the
        reading date_format=site."""
        if ts is None:
            return None
        return dates.site_format(ts, self.tz) if self.readings["date_format"] == "site" else self.iso(ts)

    def reading(self, name: str) -> str:
        return self.readings[name]

    def _next(self, kind: str) -> int:
        self._ids[kind] += 2 if kind in ("comment", "message", "history", "checklist") else 1
        return self._ids[kind]

    def _token(self, n: int = 32) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    # ---- stats ---------------------------------------------------------------------------------------
    def reset_stats(self) -> None:
        with self.lock:
            self.stats = Stats()
            self.request_log = []

    def log_call(self, method: str, params: Any, user_id: int | None, in_batch: bool, error: str | None) -> None:
        with self.lock:
            self.stats.commands[method] += 1
            self.request_log.append(LogEntry(method, params, user_id, in_batch, error))

    # ---- people and groups ---------------------------------------------------------------------------
    def add_user(self, name: str, last_name: str, extranet: bool = False, active: bool = True,
                 admin: bool = False, email: str | None = None, work_position: str = "",
                 second_name: str = "", gender: str = "") -> int:
        with self.lock:
            uid = self._next("user")
            login = email or (f"{name}.{last_name}".lower() + f"@{self.domain}" if (name + last_name).isascii()
                              else f"user{uid}@{self.domain}")
            self.users[uid] = User(uid, name, last_name, second_name, login, login, extranet, active, admin,
                                   work_position, gender, self.now_ts() - 86400 * 30,
                                   [] if extranet else [1])
            return uid

    def set_user_active(self, uid: int, active: bool) -> None:
        with self.lock:
            self.users[uid].active = active

    def add_webhook(self, uid: int, scopes: Iterable[str] = ("task", "sonet_group", "user", "im"),
                    secret: str | None = None) -> str:
        with self.lock:
            if uid not in self.users:
                raise KeyError(f"no user {uid}")
            secret = secret or self._token(16)
            self.webhooks[secret] = Webhook(uid, secret, frozenset(scopes))
            return secret

    def add_app(self, client_id: str | None = None, client_secret: str | None = None) -> tuple[str, str]:
        """An OAuth application: (client_id, client_secret)."""
        with self.lock:
            client_id = client_id or f"local.{self._token(14)}"
            client_secret = client_secret or self._token(40)
            self.apps[client_id] = client_secret
            return client_id, client_secret

    def issue_token(self, uid: int, client_id: str, scopes: Iterable[str] = ("task", "sonet_group", "user", "im"),
                    expires_in: int = ACCESS_TOKEN_LIFETIME) -> dict:
        """Install the app for a user: returns the reply the OAuth server gives (access + refresh token)."""
        with self.lock:
            return self._grant(uid, client_id, frozenset(scopes), expires_in)

    def _grant(self, uid: int, client_id: str, scopes: frozenset, expires_in: int = ACCESS_TOKEN_LIFETIME) -> dict:
        access, refresh = self._token(32), self._token(32)
        expires = self.now_ts() + expires_in
        self.tokens[access] = Token(access, uid, scopes, client_id, expires)
        self.refresh_tokens[refresh] = Token(refresh, uid, scopes, client_id, self.now_ts() + 180 * 86400)
        return {"access_token": access, "client_endpoint": f"https://{self.domain}/rest/",
                "domain": "oauth.bitrix.info", "expires": int(expires), "expires_in": expires_in,
                "member_id": self._member_id(), "refresh_token": refresh, "scope": ",".join(sorted(scopes)),
                "server_endpoint": "https://oauth.bitrix.info/rest/", "status": "L", "user_id": uid}

    def _member_id(self) -> str:
        return uuid_mod.uuid5(uuid_mod.NAMESPACE_DNS, self.domain).hex

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> dict:
        """The /oauth/token/ refresh grant: the old refresh token is spent, a new pair comes back."""
        from b24mirror.fakeportal.errors import RestError
        with self.lock:
            if self.apps.get(client_id) != client_secret or not client_id:
                raise RestError("invalid_client", "Invalid client credentials", 401)
            old = self.refresh_tokens.get(refresh_token)
            if old is None or old.client_id != client_id or old.expires <= self.now_ts():
                raise RestError("invalid_grant", "Invalid refresh token", 400)
            del self.refresh_tokens[refresh_token]
            return self._grant(old.user_id, client_id, old.scopes)

    def expire_tokens(self) -> None:
        """Make every access token expire now (refresh tokens stay valid)."""
        with self.lock:
            for token in self.tokens.values():
                token.expires = min(token.expires, self.now_ts())

    def add_group(self, name: str, owner_id: int, members: Iterable[int] = (), description: str | None = None,
                  project: bool = True) -> int:
        with self.lock:
            gid = self._next("group")
            group = Group(gid, name, owner_id, self.now_ts(), {}, description, project)
            self.groups[gid] = group
            self._relate(group, owner_id, "A")
            for uid in members:
                if uid not in group.members:
                    self._relate(group, uid, "K")
            return gid

    def _relate(self, group: Group, uid: int, role: str) -> None:
        """A user's relation to a group keeps its id while only the role changes (a request Z accepted as K)."""
        group.members[uid] = role
        if uid not in group.relation_ids:
            group.relation_ids[uid] = self._next("group_relation")

    def add_member(self, gid: int, uid: int, role: str = "K") -> None:
        """role: A owner, E moderator, K member, Z a request to join (not a member yet)."""
        with self.lock:
            self._relate(self.groups[gid], uid, role)

    def remove_member(self, gid: int, uid: int) -> None:
        with self.lock:
            self.groups[gid].members.pop(uid, None)
            self.groups[gid].relation_ids.pop(uid, None)

    # ---- access ---------------------------------------------------------------------------------------
    def can_see(self, task: Task, uid: int) -> bool:
        user = self.users.get(uid)
        if user is None or not user.active:
            return False
        if user.admin or uid in task.participants():
            return True
        group = self.groups.get(task.group_id)
        return bool(group and group.is_member(uid))

    def can_edit(self, task: Task, uid: int) -> bool:
        user = self.users.get(uid)
        if user is None or not user.active:
            return False
        if user.admin or uid in (task.created_by, task.responsible_id):
            return True
        group = self.groups.get(task.group_id)
        return bool(group and group.members.get(uid) in ("A", "E"))

    def in_chat(self, chat: Chat, uid: int) -> bool:
        task = self.tasks.get(chat.task_id)
        return bool(task and uid in task.participants() and self.users.get(uid) and self.users[uid].active)

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
            if new_card:
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

    # ---- seed files ---------------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str, **kwargs: Any) -> tuple["FakePortal", dict]:
        from b24mirror.fakeportal.seedfile import load_seed
        return load_seed(path, **kwargs)

    def time_block(self, started: float, elapsed: float, operating: dict | None = None) -> dict:
        """The `time` member of an answer, on the portal clock."""
        finish = started + elapsed
        block = {"start": round(started, 6), "finish": round(finish, 6), "duration": round(elapsed, 6),
                 "processing": round(elapsed, 6), "date_start": self.iso(started), "date_finish": self.iso(finish)}
        block.update(operating or {"operating_reset_at": int(started) + 600, "operating": 0})
        return block
