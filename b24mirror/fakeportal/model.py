"""The portal's records. Plain data; the rules that change them live in portal.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    id: int
    name: str
    last_name: str
    second_name: str = ""
    email: str = ""
    login: str = ""
    extranet: bool = False
    active: bool = True
    admin: bool = False
    work_position: str = ""
    gender: str = ""
    registered: float = 0.0
    departments: list[int] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.last_name}".strip()


@dataclass
class Group:
    id: int
    name: str
    owner_id: int
    created: float
    members: dict[int, str] = field(default_factory=dict)  # user id -> role A (owner) / E (moderator) / K (member)
    # / Z (a request to join, not yet a member)
    description: str | None = None
    project: bool = True
    opened: bool = False
    closed: bool = False
    visible: bool = True
    active: bool = True
    relation_ids: dict[int, int] = field(default_factory=dict)  # user id -> relation id (b_sonet_user2group.ID)

    MEMBER_ROLES = ("A", "E", "K")

    def is_member(self, uid: int) -> bool:
        """Owner, moderator or member; a request to join (Z) is not membership."""
        return self.members.get(uid) in self.MEMBER_ROLES

    def member_ids(self) -> list[int]:
        return [uid for uid in self.members if self.is_member(uid)]


@dataclass
class Comment:
    """A forum comment of a classic task."""
    id: int
    task_id: int
    author_id: int
    text: str
    date: float
    service: bool = False
    attachments: dict[str, dict] = field(default_factory=dict)
    edited: bool = False
    deleted: bool = False
    topic_start: bool = False  # the forum topic's first message: task.commentitem.getlist skips it


@dataclass
class Message:
    """A message of a task chat (new card). author_id 0 = system message."""
    id: int
    chat_id: int
    author_id: int
    text: str
    date: float
    params: dict[str, Any] = field(default_factory=dict)
    uuid: str | None = None

    @property
    def edited(self) -> bool:
        return self.params.get("IS_EDITED") == "Y"

    @property
    def deleted(self) -> bool:
        return self.params.get("IS_DELETED") == "Y"


@dataclass
class HistoryRow:
    id: int
    task_id: int
    date: float
    field: str
    value_from: Any
    value_to: Any
    user_id: int


@dataclass
class ChecklistItem:
    id: int
    task_id: int
    parent_id: int  # 0 for a checklist's root item
    created_by: int
    title: str
    sort_index: int = 0
    complete: bool = False
    important: bool = False
    toggled_by: int | None = None
    toggled_date: float | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> A (accomplice) / U (auditor)
    attachments: dict[str, dict] = field(default_factory=dict)


@dataclass
class Task:
    id: int
    title: str
    created_by: int
    responsible_id: int
    created: float
    group_id: int = 0
    parent_id: int | None = None
    status: int = 2
    priority: int = 1
    description: str = ""
    deadline: float | None = None
    changed: float = 0.0
    changed_by: int = 0
    activity: float = 0.0
    status_changed: float = 0.0
    status_changed_by: int = 0
    closed_by: int = 0
    closed: float | None = None
    auditors: list[int] = field(default_factory=list)
    accomplices: list[int] = field(default_factory=list)
    chat_id: int | None = None  # set for new-card tasks
    forum_topic_id: int = 0
    comments: list[Comment] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    guid: str = ""
    stage_id: int = 0
    files: list[int] = field(default_factory=list)

    @property
    def new_card(self) -> bool:
        return self.chat_id is not None

    def participants(self) -> set[int]:
        """Who is in the task chat: creator, responsible, accomplices, auditors."""
        return {self.created_by, self.responsible_id, *self.accomplices, *self.auditors}


@dataclass
class Relation:
    """A user's membership of a chat (b_im_relation): START_ID is the first message they may see (0: all),
    LAST_ID the last message they have read."""
    id: int
    user_id: int
    start_id: int = 0
    last_read: int = 0


@dataclass
class Chat:
    id: int
    task_id: int
    messages: list[Message] = field(default_factory=list)
    relations: dict[int, Relation] = field(default_factory=dict)  # user id -> relation


@dataclass
class Webhook:
    user_id: int
    secret: str
    scopes: frozenset[str]


@dataclass
class Token:
    """An OAuth access token (or a refresh token: same record, another table)."""
    value: str
    user_id: int
    scopes: frozenset[str]
    client_id: str
    expires: float


@dataclass
class Result:
    """A task's result (b_tasks_result): the text of a comment marked as the outcome. Classic tasks point at the
    forum comment (COMMENT_ID); new-card results come from a chat message and carry COMMENT_ID 0."""
    id: int
    task_id: int
    created_by: int
    text: str
    created: float
    updated: float
    comment_id: int = 0
    message_id: int = 0
    status: int = 0  # 0 open, 1 closed (the task was completed with it)
