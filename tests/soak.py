"""Fault soak: many cycles of random activity and `b24mirror sync` under faults, then a verdict.

Run it with `make soak` (or `python -m tests.soak [--cycles N] [--seed S]`); the test suite runs a
short version (tests/test_soak_small.py).

Each cycle people act in the fake portal (comments in every kind of task, hidden and extranet
comments, status and deadline changes, new subtasks, service comments), the portal is given a new
set of faults (a fifth of requests failing with 503, 500, an HTML 502 page or a timeout; posts
whose answer is lost), and the real command runs in a subprocess: to the end, killed with
SIGKILL after a random short delay, or twice at once. Now and then the state file is deleted or
truncated (a truncated file stops the run with exit 4, and the operator's `--rebuild-state`
follows, as the message says).

At the end the faults are cleared, one clean sync runs, and the portal is judged by an oracle
that knows nothing of b24mirror's code: from the portal's own records and the documented rules it
computes the markers that must be in the master (each exactly once) and checks that nothing else
is, and that no text of an ineligible comment appears in any mirror.

The scenario keeps the oracle unambiguous: membership is fixed and no task moves (moves and
removals are covered by tests/e2e/test_leaks.py); the first deletion of the state file comes only
after a mirror exists, so a resumed baseline never lies after an unposted item.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from b24mirror.fakeportal import FakePortal, serve

MARKER = re.compile(r"b24m:(comment|event|subtask):(\d+):(\d+)")
HIDE = "^#internal"
DEPTH = 2
ACCEPTED_EXIT = {0, 1, 3, 5}  # ok; a group failed (faults); locked (overlap); portal unreachable (faults)


@dataclass
class Figures:
    cycles: int = 0
    runs: int = 0
    faults_injected: int = 0
    faults_by_kind: Counter = field(default_factory=Counter)
    kills: int = 0
    overlaps: int = 0
    locked_exits: int = 0
    state_deleted: int = 0
    state_truncated: int = 0
    rebuilds: int = 0
    exit_codes: Counter = field(default_factory=Counter)
    tracebacks: int = 0
    activity: int = 0
    eligible: int = 0
    ineligible: int = 0
    mirrored: int = 0
    duplicates: int = 0
    losses: int = 0
    leaks: int = 0
    text_leaks: int = 0
    secret_seen: int = 0
    seconds: float = 0.0
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.losses or self.leaks or self.text_leaks or self.tracebacks
                    or self.secret_seen)

    def table(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.faults_by_kind.items())) or "none"
        codes = ", ".join(f"{k}: {n}" for k, n in sorted(self.exit_codes.items(), key=lambda kv: str(kv[0])))
        rows = [
            ("cycles", self.cycles),
            ("sync runs started", self.runs),
            ("exit codes", codes),
            ("faults injected", f"{self.faults_injected} ({kinds})"),
            ("kills (SIGKILL mid-run)", self.kills),
            ("overlapping starts", f"{self.overlaps} ({self.locked_exits} runs refused with exit 3)"),
            ("state file deleted", self.state_deleted),
            ("state file truncated", f"{self.state_truncated} ({self.rebuilds} --rebuild-state runs)"),
            ("actions in the portal", self.activity),
            ("eligible items", self.eligible),
            ("ineligible items", self.ineligible),
            ("items mirrored", self.mirrored),
            ("duplicates", self.duplicates),
            ("losses", self.losses),
            ("leaks (markers)", self.leaks),
            ("leaks (ineligible text)", self.text_leaks),
            ("tracebacks", self.tracebacks),
            ("secret in output", self.secret_seen),
            ("seconds", f"{self.seconds:.0f}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = ["b24mirror soak", "-" * (width + 30)]
        lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines.append("-" * (width + 30))
        lines.append("verdict: " + ("CLEAN" if self.clean else "FAILED"))
        lines += self.details[:40]
        return "\n".join(lines)


class Soak:
    def __init__(self, tmp: Path, seed: int, log=print) -> None:
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.log = log
        self.figures = Figures()
        self.texts: dict[tuple[int, int], str] = {}  # (task, comment) -> unique token
        p = self.portal = FakePortal(seed=seed)
        self.me = p.add_user("Mirror", "Robot")
        self.anna = p.add_user("Anna", "Petrova")
        self.boris = p.add_user("Boris", "Ivanov")
        self.carl = p.add_user("Carl", "Smith")
        self.eve = p.add_user("Eve", "Contractor", extranet=True)
        self.oscar = p.add_user("Oscar", "Outsider")
        self.secret = p.add_webhook(self.me)
        self.group = p.add_group("Bridge repair", owner_id=self.anna,
                                 members=[self.me, self.anna, self.boris, self.carl, self.eve])
        self.other = p.add_group("Other project", owner_id=self.oscar, members=[self.me, self.oscar, self.anna])
        self.master = self._task("Master", None)
        a = self._task("Design", self.master)
        b = self._task("Procurement (chat)", self.master, chat=True)
        a1 = self._task("Drawings", a)
        b1 = self._task("Steel order", b)
        deep = self._task("Rebar schedule (too deep)", a1)
        loose = self._task("Loose task")
        foreign = self._task("Foreign task", gid=self.other)
        self.level1 = [a, b]
        self.level2 = [a1, b1]
        self.outside = [deep, loose, foreign]
        self.people = [self.anna, self.boris, self.carl, self.eve, self.oscar, self.me]
        # Before the first sync: must never be mirrored.
        for task in (a, b, a1):
            self._comment(task, self.anna, "from before the first sync")
        p.set_status(a, 3, by=self.anna)
        self.server = serve(p, port=0)
        self.config = self._write_config()
        self.baseline: float | None = None
        self.mirror_posted = False

    # --- the portal's people --------------------------------------------------------------------

    def _task(self, title, parent=None, gid=None, chat=False) -> int:
        return self.portal.add_task(title, created_by=self.anna, responsible_id=self.boris,
                                    group_id=gid or self.group, parent_id=parent, new_card=chat,
                                    auditors=(self.me,))

    def _comment(self, task: int, author: int, body: str) -> int:
        token = f"tok{len(self.texts):05d}x"
        cid = self.portal.add_comment(task, author, f"{body} {token}")
        self.texts[(task, cid)] = token
        return cid

    def _write_config(self) -> Path:
        text = textwrap.dedent(f"""
            portal:
              webhook: "{self.server.webhook_url(self.me, self.secret)}"
              read_timeout: 1
              connect_timeout: 2
              run_deadline: 30
              burst: 1000
              per_second: 500
            state_file: "{self.tmp / 'state.json'}"
            sweep_every: 5
            groups:
              - {json.dumps({"id": self.group, "master_task": self.master, "depth": DEPTH, "language": "en",
                             "rules": {"hide": [HIDE], "exclude_extranet": True}})}
        """)
        path = self.tmp / "b24mirror.yaml"
        path.write_text(text)
        return path

    @property
    def state_path(self) -> Path:
        return self.tmp / "state.json"

    def activity(self) -> None:
        p, rng = self.portal, self.rng
        inside = self.level1 + self.level2
        tasks = inside * 3 + self.outside + [self.master]
        for _ in range(rng.randint(1, 6)):
            self.figures.activity += 1
            roll = rng.random()
            task = rng.choice(tasks)
            if roll < 0.55:
                author = rng.choice(self.people)
                body = rng.choice([
                    "Checked the drawings", "#internal price is 40k", "ok\n#internal margin 12%",
                    "[B]bold[/B] and [QUOTE]a quote[/QUOTE] 😀 שלום", "see [URL=javascript:alert(1)]this[/URL]",
                    "[USER=3]Boris[/USER] please look", "b24m:comment:1:2 typed by hand", "[/QUOTE][URL=x]y",
                    "Line one\nLine two",
                ])
                self._comment(task, author, body)
            elif roll < 0.70:
                p.set_status(task, rng.choice([2, 3, 4, 5]), by=rng.choice(self.people[:4]))
            elif roll < 0.82:
                p.set_deadline(task, p.now_ts() + rng.randint(1, 60) * 86400, by=self.anna)
            elif roll < 0.92 and len(self.level2) < 14:
                parent = rng.choice(self.level1 + self.level2)
                new = self._task(f"Subtask {len(self.level2) + len(self.outside)}", parent)
                (self.level2 if parent in self.level1 else self.outside).append(new)
            else:
                classic = [t for t in inside + self.outside if not p.task(t)["new_card"]]
                p.add_system_comment(rng.choice(classic), rng.choice(["Task completed", "Deadline changed to 01.01"]))
            p.advance(rng.randint(1, 20))

    # --- faults and the state file -------------------------------------------------------------

    def chaos(self) -> None:
        faults, rng = self.portal.faults, self.rng
        faults.clear()
        # Posts whose answers are lost: posts travel in batches, or alone.
        faults.add("lost_response", method="batch", contains="task.commentitem.add", rate=0.3)
        faults.add("lost_response", method="task.commentitem.add", rate=0.3)
        for kind, rate in (("503", 0.06), ("500", 0.05), ("html", 0.05), ("slow", 0.03), ("reset", 0.02)):
            faults.add(kind, rate=rate, seconds=1.5)
        # Besides chance, a fixed rhythm, so that even a short soak meets every kind of trouble.
        n = self.figures.cycles + 1
        if self.mirror_posted and (rng.random() < 0.06 or n % 7 == 3) and self.state_path.exists():
            self.state_path.unlink()
            self.figures.state_deleted += 1
        elif (rng.random() < 0.05 or n % 7 == 6) and self.state_path.exists():
            size = self.state_path.stat().st_size
            with open(self.state_path, "r+b") as handle:
                handle.truncate(rng.randint(0, max(0, size - 1)))
            self.figures.state_truncated += 1

    # --- runs ------------------------------------------------------------------------------------

    def _start(self, *args: str) -> subprocess.Popen:
        self.figures.runs += 1
        return subprocess.Popen([sys.executable, "-m", "b24mirror", "--config", str(self.config), "-v", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def _finish(self, proc: subprocess.Popen, killed: bool = False) -> int:
        out, err = proc.communicate(timeout=180)
        code = proc.returncode
        self.figures.exit_codes["killed" if killed else code] += 1
        if "Traceback" in out + err:
            self.figures.tracebacks += 1
            self.figures.details.append(f"traceback (exit {code}):\n{err[-3000:]}")
        if self.secret in out + err:
            self.figures.secret_seen += 1
        if code == 3:
            self.figures.locked_exits += 1
        if code == 4:
            self._rebuild()
        elif not killed and code not in ACCEPTED_EXIT:
            self.figures.details.append(f"unexpected exit {code}: {err[-500:]}")
        return code

    def _rebuild(self) -> None:
        self.figures.rebuilds += 1
        self.portal.advance(5)
        self._finish(self._start("sync", "--rebuild-state"))

    def cycle(self) -> None:
        self.portal.advance(30)
        n = self.figures.cycles + 1
        mode = 0.0 if n % 5 == 2 else 0.3 if n % 5 == 4 else self.rng.random()
        if mode < 0.25:
            proc = self._start("sync")
            time.sleep(self.rng.uniform(0.05, 1.5))
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
                self.figures.kills += 1
            self._finish(proc, killed=killed)
        elif mode < 0.40:
            self.figures.overlaps += 1
            procs = [self._start("sync"), self._start("sync")]
            for proc in procs:
                self._finish(proc)
        else:
            self._finish(self._start("sync"))
        if not self.mirror_posted:
            self.mirror_posted = any(c["author_id"] == self.me for c in self.portal.comments(self.master))

    def first_sync(self) -> None:
        self.portal.advance(30)
        code = self._finish(self._start("sync"))
        if code != 0:
            raise RuntimeError(f"the first sync, without faults, exited {code}")
        self.portal.advance(30)
        self.baseline = self.portal.now_ts()

    def final(self) -> None:
        self.portal.faults.clear()
        for _ in range(2):  # a clean run; a second one must find nothing left to do
            self.portal.advance(60)
            code = self._finish(self._start("sync"))
            if code == 4:
                continue
            if code != 0:
                self.figures.details.append(f"the final clean sync exited {code}")

    # --- the oracle -------------------------------------------------------------------------------

    def _level(self, tid: int) -> int | None:
        """Levels under the master (1 = child), or None when the task is not under it in its group."""
        level, current = 0, self.portal.task(tid)
        while True:
            if current["group_id"] != self.group:
                return None
            parent = current["parent_id"]
            if not parent:
                return None
            level += 1
            if parent == self.master:
                return level
            current = self.portal.task(parent)

    def expected(self) -> tuple[set[str], set[str], set[str]]:
        """(eligible markers, ineligible markers, tokens of ineligible comments) from the portal's records."""
        p, base = self.portal, self.baseline
        members = set(p.groups[self.group].members)
        eligible, ineligible, hidden_tokens = set(), set(), set()
        for tid, task in p.tasks.items():
            if tid == self.master:
                continue
            level = self._level(tid)
            inside = level is not None and level <= DEPTH
            for c in p.comments(tid):
                marker = f"b24m:comment:{tid}:{c['id']}"
                date = self._date_of(tid, c["id"])
                user = p.users.get(c["author_id"])
                ok = (inside and date >= base and not c["system"] and c["author_id"] != 0
                      and c["author_id"] != self.me and c["author_id"] in members
                      and user is not None and not user.extranet and not c["deleted"]
                      and not re.search(HIDE, c["text"], re.MULTILINE))
                (eligible if ok else ineligible).add(marker)
                if not ok and (tid, c["id"]) in self.texts:
                    hidden_tokens.add(self.texts[(tid, c["id"])])
            for row in task.history:
                if row.field not in ("STATUS", "DEADLINE"):
                    continue
                marker = f"b24m:event:{tid}:{row.id}"
                ok = inside and row.date >= base and str(row.value_from or "") != str(row.value_to or "")
                (eligible if ok else ineligible).add(marker)
            if task.parent_id:
                marker = f"b24m:subtask:{task.parent_id}:{tid}"
                (eligible if inside and task.created >= base else ineligible).add(marker)
        return eligible, ineligible, hidden_tokens

    def _date_of(self, tid: int, cid: int) -> float:
        task = self.portal.tasks[tid]
        if task.new_card:
            return next(m.date for m in self.portal.chats[task.chat_id].messages if m.id == cid)
        return next(c.date for c in task.comments if c.id == cid)

    def judge(self) -> Figures:
        f = self.figures
        eligible, ineligible, hidden_tokens = self.expected()
        # Mirrors: the webhook user's comments in the master, less those the soak's people typed as that user.
        texts = [c["text"] for c in self.portal.comments(self.master)
                 if c["author_id"] == self.me and not c["deleted"] and (self.master, c["id"]) not in self.texts]
        found = Counter()
        for text in texts:
            markers = [m.group(0) for m in MARKER.finditer(text)]
            if len(markers) != 1:
                f.leaks += 1
                f.details.append(f"a mirror with {len(markers)} markers: {text[:200]!r}")
            found.update(markers)
        f.eligible, f.ineligible = len(eligible), len(ineligible)
        f.mirrored = len(set(found) & eligible)
        dups = {m: n for m, n in found.items() if n > 1}
        f.duplicates = sum(n - 1 for n in dups.values())
        lost = sorted(eligible - set(found))
        leaked = sorted(set(found) - eligible)
        f.losses, f.leaks = len(lost), f.leaks + len(leaked)
        f.details += [f"duplicate: {m} x{n}" for m, n in sorted(dups.items())]
        f.details += [f"lost: {m}" for m in lost]
        f.details += [f"leaked: {m}" for m in leaked]
        blob = "\n".join(texts)
        for token in sorted(hidden_tokens):
            if token in blob:
                f.text_leaks += 1
                f.details.append(f"text of an ineligible comment in a mirror: {token}")
        state = self.state_path.read_text() if self.state_path.exists() else ""
        if self.secret in state:
            f.secret_seen += 1
            f.details.append("the webhook secret is in the state file")
        stats = self.portal.stats
        f.faults_injected, f.faults_by_kind = stats.faults_injected, Counter(stats.faults_by_kind)
        return f

    def run(self, cycles: int) -> Figures:
        started = time.monotonic()
        try:
            self.first_sync()
            for number in range(1, cycles + 1):
                self.activity()
                self.chaos()
                self.cycle()
                self.figures.cycles = number
                if number % 10 == 0:
                    self.log(f"cycle {number}/{cycles}: {self.figures.runs} runs, {self.figures.kills} kills, "
                             f"{self.portal.stats.faults_injected} faults")
            self.final()
            self.judge()
        finally:
            self.server.shutdown()
        self.figures.seconds = time.monotonic() - started
        return self.figures


def run_soak(cycles: int, seed: int = 1, tmp: Path | None = None, log=print) -> Figures:
    if tmp is None:
        with tempfile.TemporaryDirectory(prefix="b24mirror-soak-") as folder:
            return Soak(Path(folder), seed, log).run(cycles)
    return Soak(Path(tmp), seed, log).run(cycles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=int(os.environ.get("SOAK_CYCLES", 100)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", 1)))
    args = parser.parse_args(argv)
    figures = run_soak(args.cycles, args.seed)
    print(figures.table())
    return 0 if figures.clean else 1


if __name__ == "__main__":
    sys.exit(main())
