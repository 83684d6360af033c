"""The soak's oracle: from the portal's own records and the documented rules, which markers must be in each
master (each exactly once), and which must not. It knows nothing of b24mirror's code."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

MARKER = re.compile(r"b24m:(comment|message|event|subtask):(\d+):(\d+)")
START_NOTE = "b24m:start:"  # the first sync's note carrying the baseline: ours, no mirror, once per master


@dataclass
class Expectation:
    eligible: set[str] = field(default_factory=set)
    ineligible: set[str] = field(default_factory=set)
    hidden_tokens: set[str] = field(default_factory=set)  # text of ineligible comments: never in a mirror


@dataclass
class Verdict:
    eligible: set[str]
    ineligible: set[str]
    found: Counter
    exempt: set[str]  # lost for good by the rules: not counted as lost
    gone: set[str]  # mirrors a person deleted: may come back once after a state loss
    waiting: set[str]  # must be absent for now (an unreadable date)
    bad_mirrors: list[str] = field(default_factory=list)  # mirrors not carrying exactly one marker
    text_leaks: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> dict[str, int]:
        return {m: n for m, n in self.found.items() if n > 1}

    @property
    def lost(self) -> list[str]:
        return sorted(self.eligible - set(self.found) - self.exempt - self.waiting)

    @property
    def leaked(self) -> list[str]:
        allowed = self.eligible - self.waiting
        return sorted(set(self.found) - allowed)

    @property
    def reposted(self) -> int:
        return len(self.gone & set(self.found))

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.lost or self.leaked or self.bad_mirrors or self.text_leaks)

    def clean_but(self, known_lost: set[str]) -> bool:
        """Clean, but for losses already known before (reported where they happened)."""
        return not (self.duplicates or set(self.lost) - known_lost or self.leaked or self.bad_mirrors
                    or self.text_leaks)

    def summary(self, known_lost: frozenset[str] | set[str] = frozenset()) -> str:
        lost = sorted(set(self.lost) - set(known_lost))
        return (f"{len(lost)} lost {lost[:5]}, {sum(n - 1 for n in self.duplicates.values())} duplicated "
                f"{sorted(self.duplicates)[:5]}, {len(self.leaked)} leaked {self.leaked[:5]}")


def level_under(portal, tid: int, gid: int, master: int) -> int | None:
    """Levels under the master (1 = child), or None when the task is not under it in its group."""
    level, task = 0, portal.tasks[tid]
    while True:
        if task.group_id != gid or not task.parent_id:
            return None
        level += 1
        if task.parent_id == master:
            return level
        task = portal.tasks[task.parent_id]


def _items(portal, task):
    """(id, author, text, date, system, deleted) of a task's comments or chat messages, from the records."""
    if task.new_card:
        return [(m.id, m.author_id, m.text, m.date, m.author_id == 0, m.deleted)
                for m in portal.chats[task.chat_id].messages]
    return [(c.id, c.author_id, c.text, c.date, c.service, c.deleted) for c in task.comments if not c.topic_start]


def expected(portal, gid: int, master: int, baseline: float | None, *, depth: int, hide: str, me: int,
             texts: dict, into: Expectation) -> Expectation:
    """One group's markers. baseline None: `backfill: true`, every date counts."""
    members = set(portal.groups[gid].member_ids())
    since = float("-inf") if baseline is None else baseline
    for tid, task in portal.tasks.items():
        if tid == master:
            continue
        level = level_under(portal, tid, gid, master)
        inside = level is not None and level <= depth
        if not inside and task.group_id != gid:
            continue  # another group's task: that group's oracle judges it
        for cid, author, text, date, system, deleted in _items(portal, task):
            user = portal.users.get(author)
            ok = (inside and date >= since and not system and author not in (0, me) and author in members
                  and user is not None and not user.extranet and not deleted
                  and not re.search(hide, text, re.MULTILINE))
            marker = f"b24m:{'message' if task.new_card else 'comment'}:{tid}:{cid}"  # the world names the kind
            (into.eligible if ok else into.ineligible).add(marker)
            if not ok and (tid, cid) in texts:
                into.hidden_tokens.add(texts[(tid, cid)])
        for row in task.history:
            if row.field in ("STATUS", "DEADLINE"):
                ok = inside and row.date >= since and str(row.value_from or "") != str(row.value_to or "")
                (into.eligible if ok else into.ineligible).add(f"b24m:event:{tid}:{row.id}")
        if task.parent_id:
            # Announced when created inside after the baseline, or when it moved in after it ("Moved into
            # the project": a PARENT_ID or GROUP_ID change; the README's rule on moves).
            moved_in = any(row.field in ("PARENT_ID", "GROUP_ID") and row.date >= since for row in task.history)
            ok = inside and (task.created >= since or moved_in)
            (into.eligible if ok else into.ineligible).add(f"b24m:subtask:{task.parent_id}:{tid}")
    return into


def mirrors_found(portal, masters, me: int, typed: dict) -> tuple[Counter, list[str], list[str]]:
    """(marker -> live copies, texts of mirrors without exactly one marker, all mirror texts)."""
    found, bad, texts = Counter(), [], []
    for master in masters:
        notes = 0
        for c in portal.comments(master):
            if c["author_id"] != me or c["deleted"] or (master, c["id"]) in typed:
                continue  # mirrors are the webhook user's comments, less what the soak's people typed as it
            if START_NOTE in c["text"] and not MARKER.search(c["text"]):
                notes += 1
                if notes > 1:
                    bad.append(f"a second start note in master {master}: {c['text'][:160]}")
                continue
            texts.append(c["text"])
            markers = [m.group(0) for m in MARKER.finditer(c["text"])]
            if len(markers) != 1:
                bad.append(c["text"][:200])
            found.update(markers)
    return found, bad, texts
