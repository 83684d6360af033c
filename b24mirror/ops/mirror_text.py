"""A posted mirror's own text judged against the content rules as they are now (`audit`, `repair`).

The planner judges sources, so a mirror posted before a `redact` or `hide` rule was added (or before
its source was edited) can still show what a rule now covers while its source passes. `audit` reads
each mirror as a reader sees it (its markers aside) and names the rule that matches; `repair` rewrites
it with what sync would post now. Where nothing is planned in its place (a digest of several items, a
source that left the project since and stays, as posted while eligible), a `redact` match is replaced
in the posted text itself; a `hide` match in a digest's item is replaced by that item's text now, and
anywhere else deletes it. A rule the sync's own text for that item
matches too (a name, a date) is not one the mirror broke: rewriting could not help; it is not reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Mapping

from b24mirror.config.settings import GroupConfig, Rules
from b24mirror.policy.models import KIND_SUBTASK, MARKER_RE, Marker, Plan, PlannedMirror
from b24mirror.policy.digest import HeldItem, under_heading
from b24mirror.policy.render import reader_text
from b24mirror.policy.shown import shown_title
from b24mirror.sync.masters import with_baseline

_MARKER_TAIL = re.compile(MARKER_RE.pattern + r"(?:~since=\d+)?")
_TAG = re.compile(r"(\[[^\[\]]*\])")  # a BBCode tag, its link and marker inside: never redacted
HIDE = "hide"


@dataclass(frozen=True)
class TextLeak:
    marker: Marker
    comment_id: int
    rule: str  # the rule, as the config writes it: hide '(?i)salary'
    rewrite: PlannedMirror | None  # what to post in its place; None: delete it

    @property
    def detail(self) -> str:
        return f"its text shows what the rule {self.rule} now covers"

    @property
    def fix(self) -> str:
        return "(rewrites it)" if self.rewrite is not None else "(deletes it)"

    @property
    def ids(self) -> tuple[int, ...]:
        return (self.comment_id,)


def rule_shown(text: str, rules: Rules) -> str | None:
    """The first `hide` or `redact` rule matching the text as a reader of the master sees it, or None."""
    plain = _MARKER_TAIL.sub("", reader_text(text))
    judged = (plain, _MARKER_TAIL.sub("", reader_text(text, quote_prefix="")))
    for kind, patterns in ((HIDE, rules.hide_patterns), ("redact", rules.redact_patterns)):
        for pattern in patterns:
            if any(pattern.search(value) for value in judged):
                return f"{kind} {pattern.pattern!r}"
    return None


def text_leaks(present: Mapping[Marker, list[int]], texts: Mapping[int, str], plan: Plan, skip: set[Marker],
               unreadable: set[int], group: GroupConfig, baseline: datetime | None) -> list[TextLeak]:
    """The mirrors in the master whose text a content rule now covers. `plan`: the audit's, every eligible item
    with its text; `skip`: markers already found leaked (repair deletes them anyway); `unreadable`: tasks whose
    sources were not read (nothing to judge them by)."""
    planned, rules = {m.marker: m for m in plan.mirrors}, group.rules
    markers_of: dict[int, list[Marker]] = {}
    for marker, ids in present.items():
        for comment_id in ids:
            markers_of.setdefault(comment_id, []).append(marker)
    leaks = []
    for comment_id, markers in sorted(markers_of.items()):
        if comment_id not in texts or any(m in skip or (m.kind != KIND_SUBTASK and m.task_id in unreadable)
                                          for m in markers):
            continue
        rule = rule_shown(texts[comment_id], rules)
        mirrors = [planned[m] for m in markers if m in planned]
        if rule is None or any(rule_shown(m.text, rules) == rule for m in mirrors):
            continue
        first, rewrite = min(markers, key=str), None
        if len(markers) == 1 and mirrors:  # one item: the sync's text now, its marker carrying the baseline
            rewrite = replace(mirrors[0], text=with_baseline(mirrors[0].text, markers[0], baseline))
        elif not rule.startswith(HIDE):
            text = redacted(texts[comment_id], group)
            rewrite = PlannedMirror(first, text, "", first.task_id, covers=tuple(markers) if len(markers) > 1 else ())
        elif len(markers) > 1 and (text := items_now(texts[comment_id], planned, rules)) is not None:
            # A digest whose items all pass: the rule covers an item's old text (edited since) or a part the
            # planner leaves out of its mirror (a hidden file). Deleted, its items would be posted again, or lost.
            rewrite = PlannedMirror(first, text, "", first.task_id, covers=tuple(markers))
        leaks.append(TextLeak(first, comment_id, rule, rewrite))
    return leaks


def redacted(text: str, group: GroupConfig) -> str:
    """A posted mirror with every `redact` match replaced, as titles show it, outside its BBCode tags (their
    links carry the markers): the mirror stays where it is and keeps every item it stands for."""
    return "".join(part if _TAG.fullmatch(part) else shown_title(part, group.rules, group.language)
                   for part in _TAG.split(text))


_ITEM_LINE = re.compile(r"\[url=[^\]]*#(" + MARKER_RE.pattern + r")", re.IGNORECASE)
_HEADING = re.compile(r"\[b\]#\d+\b.*\[/b\]$", re.IGNORECASE)
_HEADING_TITLE = re.compile(r"(\[b\]#\d+)\b.*(\[/b\])$", re.IGNORECASE)
_COUNT = re.compile(r"(b24m-digest:)(\d+)(.*?\[/url\][^\d]*)(\d+)", re.IGNORECASE)


def spare_digests(findings: list, texts: Mapping[int, str], leaked: str) -> list:
    """Leaks found in a digest are taken out of it, not deleted with it: the digest also carries items that
    stay (among them, mirrors whose source left the project since: posted while eligible, never deleted).
    Each such finding becomes a rewrite of the digest without every leaked item of it."""
    out_of: dict[int, set[str]] = {}
    for f in findings:
        if f.kind == leaked and f.mirror is None and len(f.mirror_ids) == 1:
            out_of.setdefault(f.mirror_ids[0], set()).add(str(f.marker))
    spared = []
    for f in findings:
        text = texts.get(f.mirror_ids[0]) if f.kind == leaked and f.mirror is None and len(f.mirror_ids) == 1 else None
        kept = without_items(text, out_of[f.mirror_ids[0]]) if text and len(MARKER_RE.findall(text)) > 1 else None
        if kept is not None:
            f = replace(f, mirror=PlannedMirror(f.marker, kept, "", f.marker.task_id),
                        fix=f.fix.replace("(deletes it)", "(rewrites the digest without it)"))
        spared.append(f)
    return spared


def _items(lines: list[str]) -> list[tuple[str, int, int]]:
    """A digest's items as (marker, first line, line after the last): an item is the line with its marker's link
    (a new subtask's, after "New subtask in task #N:") and what follows up to the next item or subtask heading."""
    starts = [i for i, line in enumerate(lines) if _ITEM_LINE.search(line)]
    bounds = [i for i, line in enumerate(lines) if _HEADING.match(line) and i and not lines[i - 1].strip()]
    return [(_ITEM_LINE.search(lines[start]).group(1), start,
             min([i for i in starts if i > start] + [b - 1 for b in bounds if b > start] + [len(lines)]))
            for start in starts]


def items_now(text: str, planned: Mapping[Marker, PlannedMirror], rules: Rules) -> str | None:
    """A digest's text with each item a content rule covers replaced by the item's text now, as the digest shows
    an item (its marker keeps the baseline it carried), and each subtask heading it covers (a title changed since)
    cut to the subtask's number; None when a covered part is neither, or its item is not planned now
    (spare_digests takes those out), or the text's shape is not a digest's."""
    lines = text.split("\n")
    for key, start, end in reversed(_items(lines)):
        old = "\n".join(lines[start:end])
        if rule_shown(old, rules) is None:
            continue
        mirror = planned.get(Marker.parse(key))
        if mirror is None:
            return None
        new = under_heading(HeldItem(mirror.marker, mirror.text, mirror.source_date, mirror.task_id, ""),
                            mirror.task_id)
        since = re.search(re.escape(key) + r"~since=\d+", old)
        lines[start:end] = (new.replace(key, since.group(0), 1) if since else new).split("\n")
    for i, line in enumerate(lines):
        if i and not lines[i - 1].strip() and _HEADING.match(line) and rule_shown(line, rules) is not None:
            lines[i] = _HEADING_TITLE.sub(r"\1\2", line)
    kept = "\n".join(lines)
    return kept if rule_shown(kept, rules) is None and len(MARKER_RE.findall(kept)) == len(_items(lines)) else None


def without_items(text: str, markers: set[str]) -> str | None:
    """A digest's text without the items of `markers`, its count and empty headings following; None when no item
    would be left, or the text's shape is not a digest's as render_digest writes it."""
    lines = text.split("\n")
    drop: set[int] = set()
    for key, start, end in _items(lines):
        if key in markers:
            drop.update(range(start, end))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    left = sum(1 for line in kept if _ITEM_LINE.search(line))
    if left == 0 or left != len(MARKER_RE.findall("\n".join(kept))):
        return None  # nothing left, or a shape this does not know: deleted whole, as before
    for i in range(len(kept) - 1, 0, -1):  # a heading whose items all went: it and the blank line before it
        if i < len(kept) and _HEADING.match(kept[i]) and not kept[i - 1].strip() and (
                i + 1 == len(kept) or not kept[i + 1].strip()):
            del kept[i - 1:i + 1]
    kept[0] = _COUNT.sub(lambda m: f"{m.group(1)}{left}{m.group(3)}{left}", kept[0], count=1)
    return "\n".join(kept)
