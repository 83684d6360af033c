"""FakePortal: the in-memory portal, its clock, and the Python API tests use to act as people do.

Readings where the platform is not settled are switches (readings.py; FakePortal(readings=...), --reading):
list_chat_id, date_format, chat_history_for_new_members, history_default_order, deadline_history_values,
status_history_rows, chat_for_switched_task. Each defaults to the reading harder for a client.

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
- Results (results.py): tasks.task.result.list on both cards, commentId 0 on the new card; a change moves
  activityDate and, on the new card, posts a system notice.
- The card switch (cardswitch.py): switch_to_new_card(group) at any moment; old tasks get their chat lazily,
  with system notices, and keep their forum comments; new comments land in the chat.
- Edited chat messages carry params IS_EDITED=Y; deleted ones keep their row with IS_DELETED=Y and empty text.
- Visibility: an admin, a task participant or an active member of the task's group sees the task. Editing
  takes an admin, the creator, the responsible person, or the group's owner/moderator.
"""
from __future__ import annotations

import random
import threading
import time
from datetime import datetime
from typing import Any, Callable

from b24mirror.fakeportal import dates
from b24mirror.fakeportal import readings as readings_mod
from b24mirror.fakeportal.cardswitch import CardSwitchMixin
from b24mirror.fakeportal.checklists import ChecklistMixin
from b24mirror.fakeportal.faults import Faults
from b24mirror.fakeportal.limits import PLANS, LeakyBucket, OperatingBudget
from b24mirror.fakeportal.model import Chat, ChecklistItem, Group, Result, Task, Token, User, Webhook
from b24mirror.fakeportal.stats import LogEntry, Stats
from b24mirror.fakeportal.people import PeopleMixin
from b24mirror.fakeportal.results import ResultMixin
from b24mirror.fakeportal.talk import TalkMixin
from b24mirror.fakeportal.taskops import TaskActionsMixin, TaskMixin



class FakePortal(PeopleMixin, TaskMixin, TaskActionsMixin, TalkMixin, ChecklistMixin, CardSwitchMixin,
                 ResultMixin):
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
        self.chat_files: dict[int, dict] = {}  # disk file id -> the file as a chat lists it (files[])
        self.checklist: dict[int, ChecklistItem] = {}
        self.results: dict[int, Result] = {}
        self.new_card_groups: set[int] = set()  # switch_to_new_card (cardswitch.py)
        self.new_card_everywhere = False
        # Separate id spaces, so a client that confuses a comment id with a message id gets caught.
        self._ids = {"user": 0, "group": 0, "task": 100, "comment": 3000, "message": 84000, "chat": 1400,
                     "history": 16000, "checklist": 400, "attachment": 970, "file": 4700, "topic": 1400,
                     "relation": 500, "group_relation": 60, "result": 30}

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

    def raise_ids(self, **floors: int) -> None:
        """Start id spaces higher, e.g. forum comment ids above chat message ids (a portal whose forum is older
        than its chats), so a client that carries an id of one kind over to the other is caught."""
        with self.lock:
            for kind, floor in floors.items():
                self._ids[kind] = max(self._ids[kind], int(floor))

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
