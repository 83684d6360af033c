"""The `groups:` list: each group's ids, depth, behaviour keys and rules."""
from __future__ import annotations

from typing import Any

from b24mirror.config.digest import parse_digest
from b24mirror.config.report import parse_report
from b24mirror.config.settings import (
    COMMENT_SOURCES,
    DEFAULT_HIDE,
    DELETE_POLICIES,
    EDIT_POLICIES,
    EVENT_KINDS,
    LANGUAGES,
    GroupConfig,
    Rules,
)
from b24mirror.config.targets import read_targets
from b24mirror.config.validator import Validator, show

GROUP_KEYS = (
    "id", "master_task", "depth", "language", "comments", "auto_observe", "on_edit", "on_delete",
    "max_posts", "backfill", "max_chars", "rules", "name", "digest", "checklist", "report",
    "targets",
)
RULE_KEYS = ("exclude_extranet", "include_authors", "exclude_authors", "hide", "redact", "events", "comments")


def read_groups(v: "Validator", groups: Any, default_language: str) -> list[GroupConfig]:
    if groups is None:
        v.problem("groups", "missing: list at least one group, e.g. groups: [{id: 42, master_task: 1001, depth: 2}]")
        return []
    if not isinstance(groups, list) or not groups:
        v.problem("groups", f"must be a non-empty list of groups, got {show(groups)}")
        return []
    result: list[GroupConfig] = []
    seen: dict[int, int] = {}
    targets_seen: dict[int, str] = {}  # a target task of two lanes would mix their mirrors
    for index, group in enumerate(groups):
        prefix = f"groups[{index}]."
        if not isinstance(group, dict):
            v.problem(f"groups[{index}]", f"must be a mapping with id, master_task and depth, got {show(group)}")
            continue
        v.unknown_keys(group, GROUP_KEYS, prefix)
        gid = v.positive_id(group, "id", prefix)
        master = v.positive_id(group, "master_task", prefix)
        depth = v.integer(group, "depth", 2, prefix, minimum=1, maximum=2)
        if gid is not None:
            if gid in seen:
                v.problem(f"{prefix}id", f"group {gid} is listed twice (also groups[{seen[gid]}]); merge the two entries")
            seen.setdefault(gid, index)
        rules = _rules(v, group.get("rules", {}), f"{prefix}rules.")
        config = GroupConfig(
            id=gid or 0,
            master_task=master or 0,
            depth=depth,
            rules=rules,
            language=v.choice(group, "language", LANGUAGES, default_language, prefix),
            comments_source=v.choice(group, "comments", COMMENT_SOURCES, "auto", prefix),
            auto_observe=v.boolean(group, "auto_observe", False, prefix),
            on_edit=v.choice(group, "on_edit", EDIT_POLICIES, "ignore", prefix),
            on_delete=v.choice(group, "on_delete", DELETE_POLICIES, "ignore", prefix),
            max_posts=v.integer(group, "max_posts", 100, prefix, minimum=1),
            backfill=v.boolean(group, "backfill", False, prefix),
            max_chars=v.integer(group, "max_chars", 2000, prefix, minimum=200),
            digest=parse_digest(v, group.get("digest"), f"{prefix}digest"),
            checklist=v.boolean(group, "checklist", False, prefix),
            report=parse_report(v, group.get("report"), f"{prefix}report"),
            where=f"groups[{index}]",
        )
        result.extend(read_targets(v, group, config, prefix, targets_seen, _rules))
    _no_target_is_another_groups_master(v, result)
    return result


def _no_target_is_another_groups_master(v: "Validator", lanes: list[GroupConfig]) -> None:
    """A task that is one group's master and another group's target would hold two groups' mirrors: each
    group's audit would find the other's mirrors in it, and a repair could delete them."""
    masters = {lane.master_task: lane for lane in lanes if lane.master_task}
    for lane in lanes:
        other = masters.get(lane.target_task)
        if lane.target and other is not None and other.id != lane.id:
            v.problem(f"{lane.where}.task", f"task {lane.target_task} is the master task of group {other.id} "
                                           f"({other.where.split('.')[0]}); a target must be a task of its own: create one "
                                           "for this audience and list it here")


def _rules(v: "Validator", rules: Any, prefix: str) -> Rules:
    if rules is None:
        return Rules()
    if not isinstance(rules, dict):
        v.problem(prefix.rstrip("."), f"must be a mapping, got {show(rules)}")
        return Rules()
    v.unknown_keys(rules, RULE_KEYS, prefix)
    events = v.string_list(rules, "events", None, prefix)
    if events is None:
        events_tuple = Rules().events
    else:
        bad = [e for e in events if e not in EVENT_KINDS]
        for name in bad:
            v.problem(f"{prefix}events", f"unknown event kind {name!r}; choose from {', '.join(EVENT_KINDS)}")
        events_tuple = tuple(e for e in events if e in EVENT_KINDS)
    return Rules(
        exclude_extranet=v.boolean(rules, "exclude_extranet", False, prefix),
        include_authors=v.id_list(rules, "include_authors", prefix),
        exclude_authors=v.id_list(rules, "exclude_authors", prefix),
        hide_patterns=v.patterns(rules, "hide", prefix, default=DEFAULT_HIDE),
        redact_patterns=v.patterns(rules, "redact", prefix),
        events=events_tuple,
        mirror_comments=v.boolean(rules, "comments", True, prefix),
    )
