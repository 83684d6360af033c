"""The soak's targeted faults: each one that once stalled a group or lost an item, met on a rhythm.

Each fault is an episode: set it up in the portal, run `sync` under it, then run clean syncs until the
oracle holds again (or a limit), counting the runs. What the oracle expects of each fault's items:

  big chat         a bot (a group member) writes 2,500 messages into a new-card task's chat: every one
                   eligible, mirrored once; the chat takes several runs (pages per run, max_posts).
  deadline read    `portal.run_deadline: 1` with every read slowed to 0.6 s: the run stops mid-read;
                   nothing is lost, later runs finish the work.
  deadline post    80 new messages, `run_deadline: 2`, every post request slowed to 0.8 s: the run stops
                   between post requests; the rest is posted later, nothing twice.
  refused post     a comment whose mirror the portal refuses every time (see PortalHooks): that one item is
                   lost for good (the tool quarantines it after 3 refusals); every other item still arrives.
  malformed date   a classic comment whose POST_DATE the portal renders unreadable: while it is unreadable
                   its mirror must be absent (it waits) and nothing else of its task is held back; once the
                   date reads again it is mirrored once ("malformed date healed").
  refused update   with `on_edit: update`, a person deletes a chat message's mirror in the master, then the
                   message is edited: the update is refused; the mirror stays gone (lost for good, as a
                   person chose), the group goes on.
  empty members    sonet_group.user.get answers [] for two runs while people keep writing: nothing of that
                   time may be lost once the list is back (a group always has its owner: [] is no verdict).
  deleted mirrors  a person deletes two mirrors in the master: lost for good while the state holds their
                   ledger; after a state loss the tool cannot know a person deleted them, so each may come
                   back at most once (counted, not a failure).
  backfill loss    a group with `backfill: true` and 150 old comments is added; its first run is killed
                   mid-backfill and the state file deleted: every old item must still arrive, once.
"""
from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

from b24mirror.fakeportal import dispatch
from b24mirror.fakeportal.errors import core_error

if TYPE_CHECKING:  # pragma: no cover
    from tests.soak import Soak

REFUSED_TOKEN = "refused-by-portal"
UNREADABLE = "2026-13-45T99:99:99+03:00"
CONVERGE_LIMIT = 14
KINDS = ("big chat", "deadline read", "deadline post", "refused post", "malformed date", "refused update",
         "empty members", "deleted mirrors", "backfill loss")


class UnreadableDate(float):
    """A comment date the portal renders as UNREADABLE; its value stays the true time for the oracle."""


class PortalHooks:
    """Per-command behaviour the fake portal has no switch for, installed on its method table for one soak.

    The fake portal's faults fail whole HTTP requests; a real refusal is one command's error inside a batch.
    task.commentitem.add refuses only an empty text, which b24mirror never sends, so the closest honest
    equivalent is this: the add of any text carrying REFUSED_TOKEN is answered with the error the
    forum's own refusal takes (ERROR_CORE, ACTION_FAILED_TO_BE_PROCESSED), as one command of its batch.
    sonet_group.user.get answers [] for the groups in `empty_members`. Only this soak's portal is affected."""

    def __init__(self, portal) -> None:
        self.portal = portal
        self.empty_members: set[int] = set()
        self.refused = 0
        self._saved: dict[str, tuple] = {}

    def install(self) -> None:
        dispatch._load()
        self._wrap("task.commentitem.add", self._refusing_add)
        self._wrap("sonet_group.user.get", self._members)
        original_out_date = self.portal.out_date
        self.portal.out_date = lambda ts: UNREADABLE if isinstance(ts, UnreadableDate) else original_out_date(ts)

    def uninstall(self) -> None:
        dispatch.METHODS.update(self._saved)
        self._saved.clear()

    def _wrap(self, name: str, make) -> None:
        scope, handler = dispatch.METHODS[name]
        self._saved[name] = (scope, handler)
        dispatch.METHODS[name] = (scope, make(handler))

    def _refusing_add(self, handler):
        def add(p, caller, params):
            if p is self.portal and REFUSED_TOKEN in repr(params):
                self.refused += 1
                raise core_error("TASKS_ERROR_EXCEPTION_#8; Action failed; 8/TE/ACTION_FAILED_TO_BE_PROCESSED")
            return handler(p, caller, params)
        return add

    def _members(self, handler):
        def members(p, caller, params):
            answer = handler(p, caller, params)
            gid = dispatch.to_int(params.get("ID") if isinstance(params, dict) else None)
            return [] if p is self.portal and gid in self.empty_members else answer
        return members


class Episodes:
    """Runs one fault kind against a soak, then measures the runs until the oracle holds again."""

    def __init__(self, soak: "Soak") -> None:
        self.soak = soak
        self.known: set[str] = set()

    def run(self, kind: str) -> None:
        s = self.soak
        s.portal.faults.clear()
        # Items an earlier fault left lost stay reported there (and in the final verdict), not here again.
        self.known = set(s.verdict().lost)
        last = getattr(self, "_" + kind.replace(" ", "_"))()
        s.portal.faults.clear()
        s.write_config()
        self.converge(last or kind)

    def converge(self, kind: str) -> None:
        s = self.soak
        for runs in range(1, CONVERGE_LIMIT + 1):
            s.portal.advance(30)
            s.finish(s.start("sync"))
            verdict = s.verdict()
            if verdict.clean_but(self.known):
                s.figures.converge.setdefault(kind, []).append(runs)
                return
        s.figures.converge.setdefault(kind, []).append(0)
        s.figures.details.append(f"{kind}: not converged after {CONVERGE_LIMIT} clean runs: "
                                 f"{verdict.summary(self.known)}")

    # --- the faults -------------------------------------------------------------------------------

    def _big_chat(self) -> None:
        s = self.soak
        for n in range(2500):
            s.portal.add_comment(s.build_log, s.bot, f"build 7{n // 100:02d} step {n % 100}: ok")
            if n % 500 == 499:
                s.portal.advance(1)
        s.finish(s.start("sync"))

    def _deadline_read(self) -> None:
        s = self.soak
        for _ in range(3):
            s.comment(s.rng.choice(s.level1 + s.level2), s.anna, "written before a short run")
        s.write_config(run_deadline=1)
        s.portal.faults.add("slow", method="batch", seconds=0.6)
        s.portal.faults.add("slow", method="tasks.task.list", seconds=0.6)
        s.finish(s.start("sync"))

    def _deadline_post(self) -> None:
        s = self.soak
        for n in range(80):
            s.portal.add_comment(s.build_log, s.bot, f"deploy step {n}: ok")
        s.portal.advance(5)
        s.write_config(run_deadline=2)
        s.portal.faults.add("slow", method="batch", contains="task.commentitem.add", seconds=0.8)
        s.finish(s.start("sync"))

    def _refused_post(self) -> None:
        s = self.soak
        task = s.rng.choice(s.level1 + s.level2)
        cid = s.comment(task, s.boris, f"a text the portal will not take {REFUSED_TOKEN}")
        s.refused_markers.add(f"b24m:{'message' if s.portal.tasks[task].new_card else 'comment'}:{task}:{cid}")
        s.comment(task, s.carl, "written after the refused one")
        s.finish(s.start("sync"))

    def _malformed_date(self) -> str:
        s = self.soak
        classic = [t for t in s.level1 + s.level2 if not s.portal.tasks[t].new_card]
        task = s.rng.choice(classic)
        cid = s.comment(task, s.anna, "a comment whose date cannot be read")
        comment = next(c for c in s.portal.tasks[task].comments if c.id == cid)
        comment.date = UnreadableDate(comment.date)
        marker = f"b24m:comment:{task}:{cid}"
        s.unreadable_markers.add(marker)
        s.portal.advance(10)
        s.comment(task, s.boris, "a later comment in the same task")
        s.finish(s.start("sync"))
        self.converge("malformed date")
        comment.date = float(comment.date)  # the portal reads it again
        s.unreadable_markers.discard(marker)
        s.portal.advance(10)
        s.comment(task, s.carl, "the task moves again")
        return "malformed date healed"

    def _refused_update(self) -> None:  # the chat task is new-card: on_edit applies to chat messages
        s = self.soak
        chat = s.procurement
        mid = s.comment(chat, s.anna, "a chat message whose mirror a person will delete")
        self.converge("refused update (before)")
        marker = f"b24m:message:{chat}:{mid}"
        mirror = s.mirror_of(marker)
        if mirror is not None:
            s.portal.delete_comment(s.master, mirror)
            s.gone_markers.add(marker)
        s.portal.edit_comment(chat, mid, "edited after its mirror was deleted")
        s.finish(s.start("sync"))

    def _empty_members(self) -> None:
        s = self.soak
        s.hooks.empty_members.add(s.group)
        for _ in range(2):
            for task in s.rng.sample(s.level1 + s.level2, 2):
                s.comment(task, s.rng.choice([s.anna, s.boris, s.carl]), "written while the member list is empty")
            s.portal.advance(30)
            s.finish(s.start("sync"))
        s.hooks.empty_members.discard(s.group)

    def _deleted_mirrors(self) -> None:
        s = self.soak
        mirrors = [(m, cid) for m, cid in s.live_mirrors() if m not in s.gone_markers]
        for marker, cid in s.rng.sample(mirrors, min(2, len(mirrors))):
            s.portal.delete_comment(s.master, cid)
            s.gone_markers.add(marker)
        s.finish(s.start("sync"))

    def _backfill_loss(self) -> None:
        s = self.soak
        if s.archive_added:
            return
        s.archive_added = True
        s.write_config()
        proc = s.start("sync")
        time.sleep(1.2)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
            s.figures.kills += 1
        s.finish(proc, killed=killed)
        if s.state_path.exists():
            s.state_path.unlink()
            s.figures.state_deleted += 1
