"""The validated configuration, as frozen records the rest of the tool reads.

`config.py` turns YAML into these; nothing else parses YAML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

EVENT_KINDS = ("status", "deadline", "subtask", "responsible", "title")
DEFAULT_EVENTS = ("status", "deadline", "subtask")
LANGUAGES = ("ru", "en")
COMMENT_SOURCES = ("auto", "classic", "chat")
EDIT_POLICIES = ("ignore", "update")
DELETE_POLICIES = ("ignore", "mark")
PLANS = ("standard", "enterprise")


# Out unless a group's `rules.hide` says otherwise (a list given replaces this one): any comment with a
# line that starts with #internal (a quoted line is judged without its "» " lead too). One default for the code,
# init and the README.
DEFAULT_HIDE = (r"^#internal",)


@dataclass(frozen=True)
class Rules:
    """Who and what of a group may reach its master task."""

    exclude_extranet: bool = False  # extranet members are project participants: membership decides
    include_authors: tuple[int, ...] = ()  # when set, only these authors are mirrored
    exclude_authors: tuple[int, ...] = ()
    hide_patterns: tuple[re.Pattern, ...] = tuple(re.compile(p, re.MULTILINE) for p in DEFAULT_HIDE)  # not mirrored
    redact_patterns: tuple[re.Pattern, ...] = ()  # the matching parts are replaced in the mirror
    events: tuple[str, ...] = DEFAULT_EVENTS
    mirror_comments: bool = True


# What `digest.now` may name: an event kind, "completed" (a status change to completed), or "all".
DIGEST_NOW_KINDS = EVENT_KINDS + ("completed", "comment", "all")


@dataclass(frozen=True)
class DigestConfig:
    """Hold new items and post them as one comment per period: every `every` seconds, or at `times` of day."""

    every: int | None = None  # seconds after the oldest held item
    times: tuple[tuple[int, int], ...] = ()  # (hour, minute) in the portal's time zone
    now: tuple[str, ...] = ()  # kinds posted at once, as without a digest


@dataclass(frozen=True)
class ReportConfig:
    """A status report posted once per period: every `every` seconds (aligned to Monday 00:00 in the portal's
    zone), or at `times` ((weekday 0=Monday or None for every day, hour, minute), the portal's zone)."""

    every: int | None = None
    times: tuple[tuple[int | None, int, int], ...] = ()


@dataclass(frozen=True)
class GroupConfig:
    id: int
    master_task: int
    depth: int = 2
    rules: Rules = field(default_factory=Rules)
    language: str = "ru"
    comments_source: str = "auto"  # auto: per task, a chat id means the new card
    auto_observe: bool = False
    on_edit: str = "ignore"
    on_delete: str = "ignore"
    max_posts: int = 100
    backfill: bool = False
    max_chars: int = 2000
    digest: DigestConfig | None = None  # None: every item is posted at once
    checklist: bool = False  # keep one master checklist item per first-level subtask
    report: ReportConfig | None = None  # None: no status report
    target: int = 0  # the task mirrors go to (a `targets:` entry); 0: the master task itself
    target_name: str = ""  # the audience, as `targets[].name` calls it
    where: str = ""  # the lane's key path in the file, `groups[0]` or `groups[0].targets[1]`, for messages

    @property
    def target_task(self) -> int:
        """Where mirrors, the read-back, the checklist and the report go; `master_task` is the source root."""
        return self.target or self.master_task

    @property
    def lane(self) -> int:
        """The state's key of this (group, target): the plain group id for the master itself, so a state
        written before targets existed reads as it is; the target task in the high 32 bits otherwise."""
        return self.id if self.target_task == self.master_task else self.id | (self.target_task << LANE_SHIFT)

    @property
    def label(self) -> str:
        """How outputs name the lane: `group 42`, or `group 42 → task 900 "customer"` for a target."""
        return lane_label(self.id, self.target_task if self.target else None, self.target_name)


LANE_SHIFT = 32  # group and task ids fit 32 bits; SQLite integers hold 64


def lane_label(group_id: int, target: int | None, name: str = "") -> str:
    if target is None:
        return f"group {group_id}"
    return f"group {group_id} → task {target}" + (f' "{name}"' if name else "")


def lane_group(lane: int) -> int:
    """The group id of a state key (`GroupConfig.lane`)."""
    return lane & ((1 << LANE_SHIFT) - 1)


@dataclass(frozen=True)
class Limits:
    plan: str = "standard"
    burst: int = 50
    per_second: float = 2.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    run_deadline: float = 240.0  # seconds; a run stops before the next cron run starts


@dataclass(frozen=True)
class Config:
    webhook: str  # secret included: never print it, use masked_webhook
    masked_webhook: str
    state_file: str
    groups: tuple[GroupConfig, ...]
    limits: Limits = field(default_factory=Limits)
    sweep_every: int = 12  # runs between full sweeps of a group (12 x 5 min = hourly)
    source_path: str = ""
    metrics_file: str | None = None  # a Prometheus textfile written after each sync
    webhook_key: str = "portal.webhook"  # where the URL was set: the key, the file key or B24MIRROR_WEBHOOK

    def __repr__(self) -> str:  # the dataclass repr would print the secret
        return f"Config(webhook={self.masked_webhook!r}, state_file={self.state_file!r}, groups={len(self.groups)})"
