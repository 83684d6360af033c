"""The lifetime soak's oracle: the contract applied to the soak's own record of the year (tests/soak_year_world.py)
and to the masters as the portal holds them. It knows nothing of b24mirror's code; the rules it applies are the
README's, stated in tests/soak_year.py's docstring."""
from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from b24mirror.policy.render import reader_text
from tests.soak_year_world import HIDE_FROM_START, HIDE_MID_YEAR, REDACT_MID_YEAR, Item

if TYPE_CHECKING:  # pragma: no cover
    from tests.soak_year import YearSoak

MARKER = re.compile(r"b24m:(comment|message|event|subtask):(\d+):(\d+)")
HIDES = [re.compile(HIDE_FROM_START, re.MULTILINE), re.compile(HIDE_MID_YEAR, re.MULTILINE)]
DIGEST = "b24m-digest:"
START_NOTE = "b24m:start:"  # the first sync's note carrying the baseline: ours, no mirror, once per master


def hidden(text: str) -> bool:
    return any(p.search(text) for p in HIDES)


def branch_hidden(soak: "YearSoak", tid: int) -> bool:
    """A `hide` rule on the title of the task or of an ancestor below its master keeps the whole branch out."""
    portal, masters = soak.portal, set(soak.world.masters.values())
    current = portal.tasks.get(tid)
    while current is not None and current.id not in masters:
        if hidden(soak.world.record.titles.get(current.id, current.title)):
            return True
        current = portal.tasks.get(current.parent_id) if current.parent_id else None
    return False


def eligible(soak: "YearSoak", item: Item) -> bool:
    if item.home is None or not item.author_ok:
        return False
    baseline = soak.baselines.get(item.home)
    if item.home == soak.world.mc and not soak.archive_added:
        return False
    if baseline is not None and item.ts < baseline:
        return False
    return not hidden(item.text) and not branch_hidden(soak, item.task)


def mirrors(soak: "YearSoak") -> dict[int, list[str]]:
    """master -> texts of its mirrors: the webhook user's live comments, in both worlds."""
    found = {}
    for master in soak.world.masters.values():
        found[master] = [c["text"] for c in soak.portal.comments(master)
                         if c["author_id"] == soak.world.me and not c["deleted"] and c["text"]]
    return found


def judge(soak: "YearSoak") -> None:
    f, record = soak.figures, soak.world.record
    f.items = len(record.items)
    want = {m: i for m, i in record.items.items() if eligible(soak, i)}
    f.eligible = len(want)
    by_master = mirrors(soak)
    f.mirrors = 0
    rovers = set(soak.world.rovers)
    secrets = re.compile(REDACT_MID_YEAR)
    # A comment's own token is hidden when what it said as written is (an edit hides only the edit's text: a forum
    # comment edited after a lost state cannot be told from an unedited one, as the platform flags no forum edit).
    hidden_tokens = {i.token for i in record.items.values() if i.token and (
        hidden(i.written) or not i.author_ok or branch_hidden(soak, i.task) or i.home is None)}
    hidden_tokens |= {t for i in record.items.values() for t in i.hidden_tokens}
    for master, texts in by_master.items():
        found: Counter = Counter()
        announced: Counter = Counter()
        notes = [text for text in texts if START_NOTE in text and not MARKER.search(text)]
        if len(notes) > 1:
            f.duplicates += len(notes) - 1
            f.details.append(f"master {master}: {len(notes)} start notes")
        f.mirrors += len(texts) - len(notes)
        for text in texts:
            if text in notes:
                continue
            markers = [m.group(0) for m in MARKER.finditer(text)]
            if len(markers) != 1 and DIGEST not in text:
                f.leaks += 1
                f.details.append(f"master {master}: a mirror without exactly one marker: {text[:120]!r}")
            for marker in markers:
                found[marker] += 1
                if marker.startswith("b24m:subtask:"):
                    announced[marker.rsplit(":", 1)[1]] += 1
            shown = reader_text(text)
            for token in hidden_tokens:
                if token in text:
                    f.text_leaks += 1
                    f.details.append(f"master {master}: hidden text {token} shows in {text[:160]!r}")
            if hidden(shown) or hidden(reader_text(text, quote_prefix="")) or secrets.search(shown):
                f.text_leaks += 1
                f.details.append(f"master {master}: a rule's words show in {shown[:160]!r}")
        for source, n in announced.items():
            if n > 1:
                f.duplicates += n - 1
                f.details.append(f"master {master}: subtask {source} announced {n} times")
        for marker, n in found.items():
            item = record.items.get(marker)
            if n > 1 and not marker.startswith("b24m:subtask:"):
                f.duplicates += n - 1
                f.details.append(f"master {master}: {marker} x{n}")
            if marker in want and want[marker].home == master:
                continue
            task = int(marker.split(":")[3 if marker.startswith("b24m:subtask:") else 2])
            if marker.startswith("b24m:subtask:") and (task in rovers or (item is not None and item.home == master)):
                continue  # a moved task's announcement, or one before a rule hid its title (its text is judged)
            if item is not None and item.home == master and item.author_ok and (
                    item.text == "deleted" or item.hidden_tokens):
                continue  # the note of a comment deleted or edited out of the rules after it was mirrored
            f.leaks += 1
            f.details.append(f"master {master}: {marker} should not be there ({_why(soak, item)})")
        for marker, item in want.items():
            if item.home == master and marker not in found:
                f.losses += 1
                f.details.append(f"master {master}: {marker} lost ({item.text[:60]!r})")


def _why(soak: "YearSoak", item: Item | None) -> str:
    if item is None:
        return "nothing the soak wrote"
    return (f"home {item.home}, author ok {item.author_ok}, hidden {hidden(item.text)}, "
            f"branch hidden {branch_hidden(soak, item.task)}, text {item.text[:40]!r}")
