"""Decide which mirrors a master task is missing. Pure: no I/O, no clock.

Everything the decision needs arrives in a `GroupSnapshot`, so every rule can be tested
without HTTP, and `--dry-run` and `audit` get the same answer `sync` acts on.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Collection, Mapping

from b24mirror.config.settings import GroupConfig
from b24mirror.policy import render, rules
from b24mirror.policy.markers import is_mirrored, old_form, talk_marker
from b24mirror.policy.models import (ELIGIBLE, KIND_EVENT, KIND_SUBTASK, WORLD_CHAT, Comment, HistoryEvent,
                                     Marker, Plan, PlannedMirror, Task, User, parse_date)
from b24mirror.policy.shown import branch_hidden, hides, shown_comment, shown_task, title_hidden

REASON_MASTER = "the master task itself"
REASON_OTHER_GROUP = "task of another group"
REASON_OUTSIDE = "outside the master's subtree"
REASON_TOO_DEEP = "deeper than the configured depth"
REASON_BEFORE_BASELINE = "older than the first sync"
REASON_ALREADY = "already mirrored"
REASON_BEFORE_ENTRY = "before the task entered the project"

MOVE_FIELDS = ("PARENT_ID", "GROUP_ID")  # history rows that move a task in or out of a subtree

MAX_WALK = 8  # parent links followed before a chain counts as outside the subtree


@dataclass
class GroupSnapshot:
    group: GroupConfig
    master: Task
    tasks: Mapping[int, Task]  # every task this run knows of: sources and their ancestors
    comments: Mapping[int, list[Comment]] = field(default_factory=dict)  # task id -> comments read this run
    history: Mapping[int, list[HistoryEvent]] = field(default_factory=dict)
    announce: frozenset[int] = frozenset()  # tasks that entered the subtree since the last run
    members: frozenset[int] = frozenset()
    users: Mapping[int, User] = field(default_factory=dict)
    own_user_id: int = 0
    baseline: datetime | None = None  # None: everything (a backfill)
    known: frozenset[Marker] = frozenset()  # ledger and trusted master markers
    portal_url: str = ""
    entered: Mapping[int, str] = field(default_factory=dict)  # task id -> when it entered the subtree
    admitted: frozenset[Marker] = frozenset()  # comments whose author was a member when first seen
    results: Mapping[int, list] = field(default_factory=dict)  # task id -> its results (policy/results.py)
    hashes: Mapping[str, str] = field(default_factory=dict)  # comment marker -> hash of the text it mirrored
    target: Task | None = None  # where the mirrors go, when not the master: its world sets the links' flavour
    forums: Mapping[int, frozenset[int]] = field(default_factory=dict)  # a task with both worlds -> its forum's ids


def subtree_verdict(task: Task, master: Task, tasks: Mapping[int, Task], depth: int) -> str | None:
    """None when the task lies under the master within `depth` levels, in the master's group."""
    if task.id == master.id:
        return REASON_MASTER
    if task.group_id != master.group_id:
        return REASON_OTHER_GROUP
    level, current = 1, task
    while current.parent_id and level <= MAX_WALK:
        if current.parent_id == master.id:
            return None if level <= depth else REASON_TOO_DEEP
        parent = tasks.get(current.parent_id)
        if parent is None or parent.group_id != master.group_id:
            return REASON_OUTSIDE
        current, level = parent, level + 1
    return REASON_OUTSIDE


def entry_from_history(task: Task, history: list[HistoryEvent], master: Task, tasks: Mapping[int, Task],
                       depth: int) -> str | None:
    """When a task now inside the master's subtree last entered it, from its own move rows: the date of
    the latest PARENT_ID/GROUP_ID row before which it was outside. None: no row moved it in (it was
    created inside, or entered with an ancestor).

    The rows are undone newest first, each time judging where the task hung before that row. A former
    parent this run has not read counts as outside: a date too late loses little, one too early leaks.
    """
    rows = sorted((e for e in history if (e.field or "").upper() in MOVE_FIELDS),
                  key=lambda e: (parse_date(e.date), e.id), reverse=True)
    current = task
    for row in rows:
        before = as_id(row.before)
        if row.field.upper() == "PARENT_ID":
            current = replace(current, parent_id=before)
        else:
            current = replace(current, group_id=before)
        if subtree_verdict(current, master, tasks, depth) is not None:
            return row.date
    return None


def as_id(value: str | None) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) else None


def comment_reason(
    comment: Comment, task: Task, *, group: GroupConfig, master: Task, tasks: Mapping[int, Task] | None,
    members: Collection[int] | None, users: Mapping[int, User], own_user_id: int | None,
) -> str | None:
    """The one verdict on a comment, for a first post and for every rewrite of its mirror alike:
    None when it may be in the master, else the first reason it may not.

    `tasks`, `members` and `own_user_id` None mean the caller does not know them: the rules
    that need them are then not judged (subtree: only the master and the group are).
    """
    if tasks is None:
        if task.id == master.id:
            return REASON_MASTER
        if task.group_id != master.group_id:
            return REASON_OTHER_GROUP
    else:
        where = subtree_verdict(task, master, tasks, group.depth)
        if where is not None:
            return where
    if branch_hidden(task, tasks, group.rules, master.id):
        return rules.REASON_HIDDEN  # the mirror's header names the task, or it belongs to a hidden one
    return rules.comment_verdict(
        comment, members=members, users=users, own_user_id=own_user_id, rules=group.rules,
    )


def comment_mirror(task: Task, comment: Comment, *, group: GroupConfig, portal_url: str, flavour: str) -> str:
    """A comment's mirror as the rules let it show: the task's title and the file names redacted, hidden
    files left out (the text itself is redacted by the renderer). A first post and a rewrite alike."""
    return render.render_comment(
        shown_task(task, group.rules, group.language), shown_comment(comment, group.rules, group.language),
        portal_url=portal_url, language=group.language, rules=group.rules, max_chars=group.max_chars, flavour=flavour)


def people(users: Mapping[int, User], tasks: Mapping[int, Task]) -> dict[int, User]:
    """Everyone this run can name: the users read, and the names tasks carry with their ids."""
    found = {}
    for task in tasks.values():
        for user_id, name in ((task.responsible_id, task.responsible_name), (task.created_by, task.creator_name)):
            if user_id and name:
                found[user_id] = User(user_id, name)
    found.update({user_id: user for user_id, user in users.items() if user.name})
    return found


def _flavour(master: Task) -> str:
    return "chat" if master.world == WORLD_CHAT else "forum"


def _is_known(marker: Marker, snap: GroupSnapshot) -> bool:
    known = snap.known
    if marker in known:
        return True
    if old_form(marker) is not None:  # a chat message mirrored under the old form (policy/markers.py)
        return is_mirrored(marker, known, snap.tasks.get(marker.task_id), snap.forums)
    if marker.kind == KIND_SUBTASK:
        # A subtask is announced once, whichever parent it hung under at the time.
        return any(k.kind == KIND_SUBTASK and k.source_id == marker.source_id for k in known)
    return False


def _after_baseline(date: str, baseline: datetime | None) -> bool:
    return baseline is None or parse_date(date) >= baseline


def plan_group(snap: GroupSnapshot) -> Plan:
    plan = Plan()
    group, master = snap.group, snap.master
    flavour = _flavour(snap.target or master)
    for task_id in sorted(set(snap.comments) | set(snap.history) | set(snap.announce) | set(snap.results)):
        task = snap.tasks.get(task_id)
        if task is None:
            continue
        where = subtree_verdict(task, master, snap.tasks, group.depth)
        if where is None and branch_hidden(task, snap.tasks, group.rules, master.id):
            where = rules.REASON_HIDDEN  # its title (or its hidden parent's) shows in its mirrors: nothing goes in
        _plan_results(plan, snap, task, flavour, where)
        _plan_comments(plan, snap, task, flavour, where)
        _plan_events(plan, snap, task, flavour, where)
        if task_id in snap.announce:
            _plan_subtask(plan, snap, task, flavour, where)
    plan.mirrors.sort(key=lambda m: m.sort_key)
    return plan


def _too_early(plan: Plan, snap: GroupSnapshot, marker: Marker, date: str) -> bool:
    """Items older than the first sync, or than the task's entry into the subtree, are never mirrored."""
    if not _after_baseline(date, snap.baseline):
        plan.skip(REASON_BEFORE_BASELINE, marker)
        return True
    entered = snap.entered.get(marker.task_id if marker.kind != KIND_SUBTASK else marker.source_id)
    if entered and parse_date(date) < parse_date(entered):
        plan.skip(REASON_BEFORE_ENTRY, marker)
        return True
    return False


def _add(plan: Plan, snap: GroupSnapshot, marker: Marker, text_of, date: str, task_id: int) -> None:
    if _too_early(plan, snap, marker, date):
        return
    if _is_known(marker, snap):
        plan.skip(REASON_ALREADY, marker)
    else:
        plan.decisions[marker] = ELIGIBLE
        plan.mirrors.append(PlannedMirror(marker, text_of(), date, task_id))


def _plan_results(plan: Plan, snap: GroupSnapshot, task: Task, flavour: str, where: str | None) -> None:
    from b24mirror.policy.results import plan_snapshot_results  # it builds on edits, which builds on this module

    plan_snapshot_results(plan, snap, task, flavour, where,
                          add=lambda marker, text_of, date: _add(plan, snap, marker, text_of, date, task.id))


def _plan_comments(plan: Plan, snap: GroupSnapshot, task: Task, flavour: str, where: str | None) -> None:
    from b24mirror.policy.results import REASON_IS_RESULT, result_comments

    group = snap.group
    are_results = result_comments(snap.results.get(task.id, []), snap.comments.get(task.id, []))
    for comment in snap.comments.get(task.id, []):
        marker = talk_marker(task.id, comment)
        if _too_early(plan, snap, marker, comment.date):
            continue
        if comment.id in are_results and not _is_known(marker, snap):
            plan.skip(REASON_IS_RESULT, marker)
            continue
        # Membership is judged when an item is first seen, and that verdict holds (sync/commit.py keeps it;
        # a state written before `message` kept a chat message's verdict under the old form).
        admitted = marker in snap.admitted or old_form(marker) in snap.admitted
        members = snap.members | {comment.author_id} if admitted else snap.members
        reason = where or comment_reason(
            comment, task, group=group, master=snap.master, tasks=snap.tasks, members=members,
            users=snap.users, own_user_id=snap.own_user_id,
        )
        if reason is not None:
            plan.skip(reason, marker)
            continue
        if comment.author_name == "" and comment.author_id in snap.users:
            comment = _with_author_name(comment, snap.users[comment.author_id])
        _add(plan, snap, marker, lambda c=comment: comment_mirror(
            task, c, group=group, portal_url=snap.portal_url, flavour=flavour), comment.date, task.id)


def _with_author_name(comment: Comment, user: User) -> Comment:
    from dataclasses import replace

    return replace(comment, author_name=user.name)


def _plan_events(plan: Plan, snap: GroupSnapshot, task: Task, flavour: str, where: str | None) -> None:
    group = snap.group
    for event in rules.dedupe_status_rows(snap.history.get(task.id, [])):
        if rules.event_kind(event) is None:
            continue  # COMMENT, CHECKLIST_* and the like are not events we mirror at all
        if _too_early(plan, snap, Marker(KIND_EVENT, task.id, event.id), event.date):
            continue
        named = people(snap.users, snap.tasks)
        reason = where or rules.event_verdict(event, rules=group.rules) or _hidden_value(event, group, named)
        if reason is not None:
            plan.skip(reason, Marker(KIND_EVENT, task.id, event.id))
            continue
        _add(plan, snap, Marker(KIND_EVENT, task.id, event.id), lambda e=event: render.render_event(
            shown_task(task, group.rules, group.language), e, portal_url=snap.portal_url, language=group.language,
            flavour=flavour, users=named, redact_patterns=group.rules.redact_patterns,
        ), event.date, task.id)


def _hidden_value(event: HistoryEvent, group: GroupConfig, named: Mapping[int, User]) -> str | None:
    """A `hide` rule judges an event's values as the mirror would show them (an old title, a name)."""
    change = render.describe_change(event, language=group.language, users=named)
    return rules.REASON_HIDDEN if hides(change, group.rules) else None


def _plan_subtask(plan: Plan, snap: GroupSnapshot, task: Task, flavour: str, where: str | None) -> None:
    group = snap.group
    marker = Marker(KIND_SUBTASK, task.parent_id or 0, task.id)
    if where is not None:
        plan.skip(where, marker)
        return
    if "subtask" not in group.rules.events:
        plan.skip(rules.REASON_EVENT_KIND, marker)
        return
    parent = snap.tasks.get(task.parent_id or 0)
    if parent is not None:  # named in the announcement: its title judged like the task's own
        parent = replace(parent, title="") if title_hidden(parent, group.rules) else shown_task(
            parent, group.rules, group.language)
    named = people(snap.users, snap.tasks)
    creator = named.get(task.created_by)
    entered = snap.entered.get(task.id)
    moved = bool(entered) and parse_date(entered) > parse_date(task.created_date)
    # A task moved in long after it was created is still news: it is dated by when it entered (or was seen).
    if moved:
        date = entered
    else:
        date = task.created_date if _after_baseline(task.created_date, snap.baseline) else task.changed_date
    _add(plan, snap, marker, lambda: render.render_subtask(
        shown_task(task, group.rules, group.language), portal_url=snap.portal_url, language=group.language, flavour=flavour, parent=parent,
        creator_name=creator.name if creator else "", users=named, date=date, master_id=snap.master.id,
        moved=moved,
    ), date, task.id)
