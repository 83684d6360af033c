"""A group's `targets:` — several audiences of one source subtree, each a task of its own.

`targets: [{task: 900, name: customer, rules: {hide: ["(?i)price"]}}]`: every entry is a lane, one
`GroupConfig` per target, with the group entry's keys and the target's own `language`, `rules`, `digest`,
`checklist` and `report` over them (a target's `rules` keys replace the group's same keys, the others stay).
The master is a target only when listed (`task: <master_task>`). Without `targets:` the entry is one lane,
the master itself, as it always was.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from b24mirror.config.digest import parse_digest
from b24mirror.config.report import parse_report
from b24mirror.config.settings import LANGUAGES, GroupConfig, Rules
from b24mirror.config.validator import Validator, show

TARGET_KEYS = ("task", "name", "language", "rules", "digest", "checklist", "report")
EXAMPLE = 'e.g. targets: [{task: 1001, name: internal}, {task: 900, name: customer, rules: {hide: ["(?i)price"]}}]'


def read_targets(v: Validator, group: dict, base: GroupConfig, prefix: str, seen: dict[int, str],
                 read_rules: Callable[[Validator, Any, str], Rules]) -> list[GroupConfig]:
    """The lanes of one group entry; `seen` (target task -> where it was listed) spans the whole config."""
    raw = group.get("targets")
    if raw is None:
        return [base]
    where = f"{prefix}targets"
    if not isinstance(raw, list) or not raw:
        v.problem(where, f"must be a non-empty list of targets, {EXAMPLE}; got {show(raw)}")
        return [base]
    lanes = []
    for index, entry in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(entry, dict):
            v.problem(here, f"must be a mapping with task and name, {EXAMPLE}; got {show(entry)}")
            continue
        v.unknown_keys(entry, TARGET_KEYS, here + ".")
        task = v.positive_id(entry, "task", here + ".")
        if task is None:
            continue
        if task in seen:
            v.problem(f"{here}.task", f"task {task} is a target twice (also {seen[task]}): its mirrors would mix; "
                                      "list each target task once")
            continue
        seen[task] = here
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            v.problem(f"{here}.name", f"must be a text naming the audience, got {show(name)}")
            name = None
        rules = base.rules
        if "rules" in entry:
            own, inherited = entry["rules"], group.get("rules") or {}
            merged = {**inherited, **own} if isinstance(own, dict) and isinstance(inherited, dict) else own
            rules = read_rules(v, merged, f"{here}.rules.")
        lanes.append(replace(
            base, target=task, target_name=name or "", rules=rules, where=here,
            language=v.choice(entry, "language", LANGUAGES, base.language, here + "."),
            digest=parse_digest(v, entry["digest"], f"{here}.digest") if "digest" in entry else base.digest,
            checklist=v.boolean(entry, "checklist", base.checklist, here + "."),
            report=parse_report(v, entry["report"], f"{here}.report") if "report" in entry else base.report,
        ))
    return lanes or [base]
