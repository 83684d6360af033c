"""FakePortal: the in-memory portal, its clock, and the Python API tests use to act as people do.

Readings taken where the docs are silent (see /shared/reference/where-the-docs-are-silent.md):
- A new comment or chat message moves a task's activityDate, never its changedDate. A field change
  (status, deadline, parent, group, title, responsible, auditors, accomplices) moves both.
  A new subtask changes nothing on its parent. Editing or deleting a comment moves no date.
- commentsCount counts the classic (forum) comments of a task, service comments included;
  serviceCommentsCount counts the service ones. Chat messages never move either.
- Service comments on classic tasks are ordinary forum rows with no flag. Their author is the user
  who acted (`by`), or the task's creator when nobody is named: the portal writes them on behalf of
  the user whose action they describe.
- New-card tasks own a chat (chatId). System messages there have author_id 0 and params.CODE (a list,
  as in the im.dialog.messages.get sample). Chat participants are always the task's creator,
  responsible, accomplices and auditors, recomputed on every change; nobody else may read the chat,
  portal administrators included.
- History: creation writes NEW; a field change writes a row named after the field with string values;
  DEADLINE values are unix timestamps (as strings) on even task ids and ISO dates on odd ones, so a
  client must parse both; a classic comment writes COMMENT with value.to = the comment id. New-card chat
  messages write no COMMENT row (the docs leave it open; this is the reading a client cannot lean on).
- Edited chat messages carry params IS_EDITED=Y; deleted ones keep their row with params IS_DELETED=Y and
  empty text. A deleted classic comment disappears from task.commentitem.getlist.
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

from b24mirror.fakeportal import dates
from b24mirror.fakeportal.faults import Faults
from b24mirror.fakeportal.limits import PLANS, LeakyBucket, OperatingBudget
from b24mirror.fakeportal.model import (Chat, ChecklistItem, Comment, Group, HistoryRow, Message, Task, Token, User,
                                        Webhook)
from b24mirror.fakeportal.stats import LogEntry, Stats

STATUS_NAMES = {1: "New", 2: "Pending", 3: "In progress", 4: "Supposedly completed", 5: "Completed",
                6: "Deferred", 7: "Declined"}
ACCESS_TOKEN_LIFETIME = 3600


class FakePortal:
    def __init__(self, seed: int | None = 0, limits: str | None = None, time_scale: float = 1.0,
                 tz: str = "+03:00", domain: str = "demo.bitrix24.test", clock: Callable[[], float] | None = None,
                 start: float | datetime | None = None, operating_limit: float = 480.0,
                 operating_cost: float | dict = 0.0):
        """clock: a callable giving seconds (default time.time); the portal's time runs at time_scale times
        its pace from `start` (default: now), plus whatever advance() adds. limits: None (off),
        "standard" (burst 50, 2/s) or "enterprise" (250, 5/s); the operating budget is on with either."""
        if limits not in (None, *PLANS):
            raise ValueError(f"limits must be None, 'standard' or 'enterprise', not {limits!r}")
        self.lock = threading.RLock()
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
                     "history": 16000, "checklist": 400, "attachment": 970, "file": 4700, "topic": 1400}

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
            group = Group(gid, name, owner_id, self.now_ts(), {owner_id: "A"}, description, project)
            for uid in members:
                group.members.setdefault(uid, "K")
            self.groups[gid] = group
            return gid

    def add_member(self, gid: int, uid: int, role: str = "K") -> None:
        with self.lock:
            self.groups[gid].members[uid] = role

    def remove_member(self, gid: int, uid: int) -> None:
        with self.lock:
            self.groups[gid].members.pop(uid, None)

    # ---- access ---------------------------------------------------------------------------------------
    def can_see(self, task: Task, uid: int) -> bool:
        user = self.users.get(uid)
        if user is None or not user.active:
            return False
        if user.admin or uid in task.participants():
            return True
        group = self.groups.get(task.group_id)
        return bool(group and uid in group.members)

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
        return sum(1 for c in task.comments if not c.deleted)

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
            self._history(task, key, ",".join(map(str, old)), ",".join(map(str, new)), by)
            self._joined(task, before, by)
            return True
        return False  # other fields are accepted and ignored, as the portal ignores unknown keys

    def _deadline_text(self, task: Task, ts: float | None) -> str:
        if ts is None:
            return ""
        return str(int(ts)) if task.id % 2 == 0 else self.iso(ts)

    def _joined(self, task: Task, before: set[int], by: int) -> None:
        for uid in sorted(task.participants() - before):
            self._system_message(task, f"{self._mention(by)} invited {self._mention(uid)} to the chat", "CHAT_JOIN",
                                 notify="N")

    def _mention(self, uid: int) -> str:
        user = self.users.get(uid)
        return f"[USER={uid} REPLACE]{user.full_name if user else uid}[/USER]"

    def _history(self, task: Task, field: str, old: Any, new: Any, by: int) -> None:
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

    def add_accomplice(self, tid: int, uid: int, by: int | None = None) -> None:
        with self.lock:
            task = self.tasks[tid]
            if uid not in task.accomplices:
                self.update_fields(tid, {"ACCOMPLICES": task.accomplices + [uid]}, by or task.created_by)

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
            if task.new_card:
                params: dict = {}
                if attachments:
                    params["FILE_ID"] = [int(a["FILE_ID"]) for a in self._attachments(attachments).values()]
                return self.post_message(self.chats[task.chat_id], uid, text, params).id
            comment = Comment(self._next("comment"), tid, uid, text, self.now_ts(),
                              attachments=self._attachments(attachments))
            task.comments.append(comment)
            task.activity = comment.date
            self._history(task, "COMMENT", None, str(comment.id), uid)
            return comment.id

    def add_system_comment(self, tid: int, text: str, by: int | None = None, code: str = "TASK_SYSTEM") -> int:
        """Classic: a service forum row (no flag over REST), authored by `by` or the creator.
        New card: a system chat message, author 0, params.CODE."""
        with self.lock:
            task = self.tasks[tid]
            if task.new_card:
                return self._system_message(task, text, code).id
            comment = Comment(self._next("comment"), tid, by or task.created_by, text, self.now_ts(), service=True)
            task.comments.append(comment)
            task.activity = comment.date
            return comment.id

    def post_message(self, chat: Chat, uid: int, text: str, params: dict | None = None) -> Message:
        msg = Message(self._next("message"), chat.id, uid, text, self.now_ts(), dict(params or {}),
                      str(uuid_mod.UUID(int=self.rng.getrandbits(128))) if uid else None)
        chat.messages.append(msg)
        self.tasks[chat.task_id].activity = msg.date
        return msg

    def _system_message(self, task: Task, text: str, code: str, **extra: str) -> Message | None:
        if not task.new_card:
            return None
        return self.post_message(self.chats[task.chat_id], 0, text, {"CODE": [code], **extra})

    def find_comment(self, task: Task, cid: int) -> Comment | None:
        return next((c for c in task.comments if c.id == int(cid) and not c.deleted), None)

    def find_message(self, mid: int) -> Message | None:
        for chat in self.chats.values():
            for msg in chat.messages:
                if msg.id == int(mid):
                    return msg
        return None

    def edit_comment(self, tid: int, cid: int, text: str) -> None:
        with self.lock:
            task = self.tasks[tid]
            if task.new_card:
                self.edit_message(self.find_message(cid), text)
                return
            comment = self.find_comment(task, cid)
            if comment is None:
                raise KeyError(f"no comment {cid} on task {tid}")
            comment.text, comment.edited = text, True

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
            if task.new_card:
                self.delete_message(self.find_message(cid))
                return
            comment = self.find_comment(task, cid)
            if comment is None:
                raise KeyError(f"no comment {cid} on task {tid}")
            comment.deleted, comment.text = True, ""

    def comments(self, tid: int) -> list[dict]:
        """The judge's view of a task's comments, oldest first, the same for both worlds."""
        with self.lock:
            task = self.tasks[tid]
            if task.new_card:
                return [{"id": m.id, "author_id": m.author_id, "text": m.text, "date": self.iso(m.date),
                         "system": m.author_id == 0, "edited": m.edited, "deleted": m.deleted}
                        for m in self.chats[task.chat_id].messages]
            return [{"id": c.id, "author_id": c.author_id, "text": c.text, "date": self.iso(c.date),
                     "system": c.service, "edited": c.edited, "deleted": c.deleted} for c in task.comments]

    # ---- checklists ---------------------------------------------------------------------------------------
    def add_checklist_item(self, tid: int, title: str, parent_id: int | None = None, by: int | None = None,
                           complete: bool = False, important: bool = False, sort_index: int | None = None,
                           members: dict | None = None, attachments: Any = None) -> int:
        """parent_id None: append to the task's first checklist (creating one); 0 or unknown: a new checklist."""
        with self.lock:
            task = self.tasks[tid]
            by = by or task.created_by
            roots = [i for i in self.checklist.values() if i.task_id == tid and i.parent_id == 0]
            if parent_id is None:
                if roots:
                    parent_id = roots[0].id
                else:
                    parent_id = self.add_checklist_item(tid, "Checklist 1", 0, by)
            elif parent_id and (parent_id not in self.checklist or self.checklist[parent_id].task_id != tid):
                parent_id = 0
            siblings = [i for i in self.checklist.values() if i.task_id == tid and i.parent_id == parent_id]
            item = ChecklistItem(self._next("checklist"), tid, int(parent_id), by, title,
                                 sort_index if sort_index is not None else len(siblings), complete, important,
                                 members={int(k): (v.get("TYPE", "U") if isinstance(v, dict) else str(v))
                                          for k, v in (members or {}).items()},
                                 attachments=self._attachments(attachments, int_id=True))
            if complete:
                item.toggled_by, item.toggled_date = by, self.now_ts()
            self.checklist[item.id] = item
            if parent_id:
                self._history(task, "CHECKLIST_ITEM_CREATE", "", title, by)
            return item.id

    def toggle_checklist_item(self, item_id: int, complete: bool, by: int) -> bool:
        with self.lock:
            item = self.checklist.get(int(item_id))
            if item is None:
                return False
            if item.complete != complete:
                item.complete = complete
                item.toggled_by, item.toggled_date = by, self.now_ts()
                self._history(self.tasks[item.task_id], "CHECKLIST_ITEM_CHECK" if complete else "CHECKLIST_ITEM_UNCHECK",
                              "", item.title, by)
            return True

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
