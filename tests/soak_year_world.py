"""The lifetime soak's world: three projects in the fake portal, the people in them, and what they do on a day.

Everything the people do is written down here as it happens (`Record`), so the oracle (tests/soak_year.py) can
judge the masters from the soak's own records and the documented contract, knowing nothing of b24mirror:
which master each comment, event and new subtask belongs to when it happens, whether its author is a member
of that group then, and what its text says.

The scenario keeps the oracle unambiguous (the docstring of tests/soak_year.py says how).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from b24mirror.fakeportal import FakePortal

DEPTH = 2
DAY = 86400
HIDE_FROM_START = "^#internal"
HIDE_MID_YEAR = "(?i)payroll"  # the rule added mid-year: text, titles and file names
REDACT_MID_YEAR = r"SECRET-\d+"
WORDS = ("Checked the drawings", "Poured the slab", "Line one\nLine two", "[B]bold[/B] and [QUOTE]a quote[/QUOTE]",
         "[USER=3]Boris[/USER] please look", "b24m:comment:1:2 typed by hand", "Ordered the steel 😀")


@dataclass
class Item:
    """A comment (or chat message), event or new subtask as the soak saw it happen."""
    marker: str
    task: int
    token: str = ""  # unique text of a comment, searched for in the mirrors
    home: int | None = None  # the master whose subtree held the task when it happened (within DEPTH)
    ts: float = 0.0
    author_ok: bool = True  # a member of home's group then, not extranet, not the portal itself
    text: str = ""  # what it says now (an edit changes it); a comment with only a file: the file's name
    written: str = ""  # what it said when it was written
    hidden_tokens: tuple[str, ...] = ()  # text it carried that a rule hid: never in any mirror


@dataclass
class Record:
    items: dict[str, Item] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)  # task -> title, as the soak set it
    redacted_tokens: set[str] = field(default_factory=set)  # secrets a redact rule covers: never in any mirror


class YearWorld:
    """Groups A (classic card until the switch; edits and deletes followed), B (a daily digest), and C (an
    archive with a long history, mirrored with `backfill: true` from mid-year)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.record = Record()
        p = self.portal = FakePortal(seed=seed)
        self.me = p.add_user("Mirror", "Robot")
        self.anna, self.boris = p.add_user("Anna", "Petrova"), p.add_user("Boris", "Ivanov")
        self.carl, self.dina = p.add_user("Carl", "Smith"), p.add_user("Dina", "Orlova")
        self.erik = p.add_user("Erik", "Berg")
        self.eve = p.add_user("Eve", "Contractor", extranet=True)
        self.oscar = p.add_user("Oscar", "Outsider")  # in no project: everything he writes stays out
        self.secret = p.add_webhook(self.me)
        self.a = p.add_group("Bridge", owner_id=self.anna,
                             members=[self.me, self.anna, self.boris, self.carl, self.dina, self.eve])
        self.b = p.add_group("Harbour", owner_id=self.anna, members=[self.me, self.anna, self.boris, self.erik])
        self.c = p.add_group("Archive", owner_id=self.anna, members=[self.me, self.anna, self.boris])
        self.ma, self.mb, self.mc = (self.task("Master", None, g) for g in (self.a, self.b, self.c))
        self.masters = {self.a: self.ma, self.b: self.mb, self.c: self.mc}
        self.tasks = {self.a: [self.task("Design", self.ma, self.a), self.task("Procurement", self.ma, self.a)],
                      self.b: [self.task("Quay wall", self.mb, self.b)]}
        self.tasks[self.a].append(self.task("Drawings", self.tasks[self.a][0], self.a))
        # Tasks that travel: out of the subtree and back, and between A and B. None has subtasks.
        self.rovers = [self.task(f"Rover {n}", self.ma, self.a) for n in range(3)]
        self.archive = [self.task("Archive notes", self.mc, self.c), self.task("Archive drawings", self.mc, self.c)]
        self.away: set[int] = set()  # members of A who left, or were deactivated, and have not come back
        self.deactivated: set[int] = set()

    # --- the portal's people ----------------------------------------------------------------------------

    def task(self, title: str, parent: int | None, gid: int) -> int:
        tid = self.portal.add_task(title, created_by=self.anna, responsible_id=self.boris, group_id=gid,
                                   parent_id=parent, auditors=(self.me,))
        self.record.titles[tid] = title
        if parent is not None:
            self._note(f"b24m:subtask:{parent}:{tid}", tid)
        return tid

    def home(self, tid: int) -> int | None:
        """The master whose subtree holds the task now, within DEPTH."""
        task = self.portal.tasks[tid]
        master = self.masters.get(task.group_id)
        level, current = 0, task
        while master is not None and current.parent_id and current.group_id == task.group_id and level < DEPTH:
            level += 1
            if current.parent_id == master:
                return master
            current = self.portal.tasks[current.parent_id]
        return None

    def members(self, gid: int) -> set[int]:
        found = set(self.portal.groups[gid].member_ids()) - {self.me}
        return {u for u in found if self.portal.users[u].active}

    def _note(self, marker: str, tid: int, **fields) -> Item:
        item = Item(marker, tid, home=self.home(tid), ts=self.portal.now_ts(), **fields)
        item.written = item.text
        self.record.items[marker] = item
        return item

    def comment(self, tid: int, author: int, body: str, files: tuple[str, ...] = ()) -> Item:
        token = f"tok{len(self.record.items):05d}x"
        text = f"{body} {token}"
        cid = self.portal.add_comment(tid, author, text, attachments=[{"name": f} for f in files] or None)
        return self._note(self._talk(tid, cid), tid, token=token, author_ok=self._may_be_quoted(tid, author),
                          text=text)

    def file_only(self, tid: int, author: int) -> Item:
        """A comment whose only content is a file a mid-year `hide` rule covers."""
        cid = self.portal.add_comment(tid, author, "", attachments=[{"name": "payroll-2026.xlsx"}])
        return self._note(self._talk(tid, cid), tid, author_ok=self._may_be_quoted(tid, author),
                          text="payroll-2026.xlsx")

    def _talk(self, tid: int, cid: int) -> str:
        """A comment's marker: `message` for a chat message (a task on the new card, or switched to it)."""
        task = self.portal.tasks[tid]
        forum = not task.new_card or self.portal.find_comment(task, cid) is not None
        return f"b24m:{'comment' if forum else 'message'}:{tid}:{cid}"

    def _may_be_quoted(self, tid: int, author: int) -> bool:
        """A member of the task's group as they write (so when the next run first sees it), not extranet."""
        return author in self.members(self.portal.tasks[tid].group_id) and not self.portal.users[author].extranet

    def secret_word(self) -> str:
        word = f"SECRET-{self.rng.randint(1000, 9999)}"
        self.record.redacted_tokens.add(word)
        return word

    # --- a day ------------------------------------------------------------------------------------------

    def people_write(self, count: int) -> None:
        rng = self.rng
        for _ in range(count):
            gid = rng.choice([self.a, self.a, self.b])
            tid = rng.choice(self.tasks[gid] + [t for t in self.rovers if self.portal.tasks[t].group_id == gid])
            writers = sorted(self.members(self.portal.tasks[tid].group_id))
            author = self.oscar if rng.random() < 0.05 else rng.choice(writers)
            roll, files = rng.random(), ()
            if roll < 0.08:
                body = "#internal price is 40k"
            elif roll < 0.14:
                body = "the payroll numbers are in"  # hidden once the mid-year rule exists
            elif roll < 0.20:
                body = f"card {self.secret_word()} on file"
            elif roll < 0.24:
                self.file_only(tid, author)  # no text: the file's name is all it says
                continue
            elif roll < 0.28:
                body, files = "scan attached", (f"{self.secret_word()} scan.pdf",)
            else:
                body = rng.choice(WORDS)
            self.comment(tid, author, body, files)
            self.portal.advance(rng.randint(60, 1800))

    def before_the_rules(self) -> None:
        """What the mid-year rules will cover, written early so that every year meets it: words in text, a
        secret in a digest, a subtask whose title the `hide` rule covers with a subtask and comments under it."""
        design, quay = self.tasks[self.a][0], self.tasks[self.b][0]
        self.comment(design, self.anna, "the payroll numbers are in")
        self.comment(design, self.boris, f"card {self.secret_word()} on file")
        self.comment(quay, self.erik, f"card {self.secret_word()} for the divers")
        review = self.task("Payroll review", self.ma, self.a)
        self.tasks[self.a].append(review)
        self.tasks[self.a].append(self.task("Bonus sheet", review, self.a))
        self.comment(review, self.anna, "first figures")
        self.comment(self.tasks[self.a][-1], self.boris, "second-level figures")

    def status_change(self) -> None:
        tid = self.rng.choice(self.tasks[self.a] + self.tasks[self.b])
        task = self.portal.tasks[tid]
        before = {r.id for r in task.history}
        self.portal.set_status(tid, self.rng.choice([2, 3, 5]), by=self.anna)
        for row in task.history:
            if row.id not in before and row.field == "STATUS" and str(row.value_from) != str(row.value_to):
                self._note(f"b24m:event:{tid}:{row.id}", tid)

    def new_subtask(self) -> None:
        gid = self.rng.choice([self.a, self.b])
        title = self.rng.choice(["Inspection", "Payroll review", f"Permit {self.secret_word()}", "Handover"])
        parent = self.rng.choice([self.masters[gid], self.tasks[gid][0]])
        self.tasks[gid].append(self.task(f"{title} {len(self.record.titles)}", parent, gid))

    def edit_or_delete(self, before_ts: float) -> None:
        """A person edits or deletes one of their own comments in A, written on an earlier day and mirrored (no
        rule ever covered it: what becomes of an edit to a comment never mirrored is not this soak's question)."""
        mine = [i for i in self.record.items.values() if i.token and i.home == self.ma and i.ts < before_ts
                and i.author_ok and i.text == i.written and not self.ever_hidden(i)
                and self.portal.tasks[i.task].group_id == self.a and self.home(i.task) == self.ma
                and self._still_writes(i)]
        if not mine:
            return
        item = self.rng.choice(mine)
        cid = int(item.marker.rsplit(":", 1)[1])
        if self.rng.random() < 0.3:
            self.portal.delete_comment(item.task, cid)
            item.text = "deleted"
            return
        hidden = self.rng.random() < 0.4
        token = f"{item.token}e{self.rng.randint(100, 999)}"
        text = f"#internal edited {token}" if hidden else f"edited {token}"
        self.portal.edit_comment(item.task, cid, text)
        item.text = text
        if hidden:
            item.hidden_tokens += (token,)

    def ever_hidden(self, item: Item) -> bool:
        task = self.portal.tasks[item.task]
        titles = (self.record.titles.get(item.task, ""), self.record.titles.get(task.parent_id or 0, ""))
        return any(re.search(p, text, re.MULTILINE) for p in (HIDE_FROM_START, HIDE_MID_YEAR)
                   for text in (item.written, *titles))

    def _still_writes(self, item: Item) -> bool:
        author = next((c["author_id"] for c in self.portal.comments(item.task)
                       if f":{c['id']}" == item.marker[item.marker.rindex(":"):]), None)
        return author in self.members(self.a)

    def people_change(self) -> str:
        """One of Carl and Dina leaves A, is deactivated, or comes back."""
        p, who = self.portal, self.rng.choice([self.carl, self.dina])
        if who in self.deactivated:
            p.set_user_active(who, True)
            self.deactivated.discard(who)
            self.away.discard(who)
            return "reactivated"
        if who in self.away:
            p.add_member(self.a, who)
            self.away.discard(who)
            return "rejoined"
        self.away.add(who)
        if self.rng.random() < 0.5:
            p.set_user_active(who, False)
            self.deactivated.add(who)
            return "deactivated"
        p.remove_member(self.a, who)
        return "left"

    def move_rover(self) -> str:
        """A rover moves: out of A's subtree, back in, or across to B's master and back."""
        p = self.portal
        tid = self.rng.choice(self.rovers)
        task = p.tasks[tid]
        if task.group_id == self.b:
            recent = p.now_ts() - 2 * DAY
            if any(i.task == tid and i.home == self.mb and i.ts > recent for i in self.record.items.values()):
                return "kept in B (its items wait for the digest)"  # a held item whose task left is not posted
            p.move_task(tid, parent_id=self.ma, group_id=self.a, by=self.anna)
            return "back from B"
        if task.parent_id != self.ma:
            p.move_task(tid, parent_id=self.ma, by=self.anna)
            return "back into A"
        if self.rng.random() < 0.5:
            p.move_task(tid, parent_id=None, by=self.anna)
            return "out of A's subtree"
        p.move_task(tid, parent_id=self.mb, group_id=self.b, by=self.anna)
        return "to B"

    def archive_history(self, count: int) -> None:
        for n in range(count):
            author = self.oscar if n % 25 == 7 else (self.anna if n % 2 else self.boris)
            self.comment(self.archive[n % 2], author, "#internal old price" if n % 30 == 11 else f"archived_{n:03d}")
            self.portal.advance(600)
