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

Besides that random weather, every other cycle meets one targeted fault of tests/soak_faults.py in
turn (a 2,500-message chat, a run deadline mid-read and mid-post, a post the portal always refuses, a
malformed date, a refused update, an empty member list, mirrors deleted by people, state loss during a
backfill), then clean runs until the oracle holds again: the runs that took are its figures. What the
oracle expects of each fault's items is written there.

The scenario keeps the oracle unambiguous: membership is fixed and no task moves (moves and
removals are covered by tests/e2e/test_leaks.py); the first deletion of the state file comes only
after a mirror exists, so a resumed baseline never lies after an unposted item.
"""
from __future__ import annotations

import argparse
import json
import os
import random
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
from tests.soak_faults import KINDS, Episodes, PortalHooks
from tests.soak_oracle import MARKER, Expectation, Verdict, expected, mirrors_found

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
    lost_by_rule: int = 0
    reposted_after_deletion: int = 0
    converge: dict[str, list[int]] = field(default_factory=dict)  # fault kind -> runs to converge (0: never)
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.losses or self.leaks or self.text_leaks or self.tracebacks
                    or self.secret_seen or self.not_converged)

    @property
    def not_converged(self) -> int:
        return sum(runs.count(0) for runs in self.converge.values())

    def _convergence(self) -> list[tuple[str, str]]:
        rows = []
        for kind, runs in sorted(self.converge.items()):
            met = [r for r in runs if r]
            shown = f"met {len(runs)}x; runs to converge: {', '.join(map(str, runs))}"
            rows.append((f"  {kind}", shown + (f"  ({runs.count(0)} NOT converged)" if len(met) < len(runs) else "")))
        return rows

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
            ("lost by the rules", f"{self.lost_by_rule} (refused for good, mirror deleted by a person)"),
            ("deleted mirrors back", f"{self.reposted_after_deletion} (after a state loss; at most once each)"),
            ("duplicates", self.duplicates),
            ("losses", self.losses),
            ("leaks (markers)", self.leaks),
            ("leaks (ineligible text)", self.text_leaks),
            ("tracebacks", self.tracebacks),
            ("secret in output", self.secret_seen),
            ("seconds", f"{self.seconds:.0f}"),
            ("targeted faults", f"{sum(map(len, self.converge.values()))} met, {self.not_converged} not converged"),
            *self._convergence(),
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
        self.bot = p.add_user("Build", "Bot")  # a member: its build log is quoted like anyone's
        self.secret = p.add_webhook(self.me)
        self.group = p.add_group("Bridge repair", owner_id=self.anna,
                                 members=[self.me, self.anna, self.boris, self.carl, self.eve, self.bot])
        self.other = p.add_group("Other project", owner_id=self.oscar, members=[self.me, self.oscar, self.anna])
        self.master = self._task("Master", None)
        a = self._task("Design", self.master)
        b = self._task("Procurement (chat)", self.master, chat=True)
        a1 = self._task("Drawings", a)
        b1 = self._task("Steel order", b)
        deep = self._task("Rebar schedule (too deep)", a1)
        loose = self._task("Loose task")
        foreign = self._task("Foreign task", gid=self.other)
        self.build_log = self._task("CI build log (chat)", self.master, chat=True)
        self.procurement = b
        self.level1 = [a, b]
        self.level2 = [a1, b1]
        self.outside = [deep, loose, foreign]
        self.masters = {self.group: self.master}
        self.archive_group, self.archive_master = self._archive()
        self.people = [self.anna, self.boris, self.carl, self.eve, self.oscar, self.me]
        # Before the first sync: must never be mirrored.
        for task in (a, b, a1):
            self._comment(task, self.anna, "from before the first sync")
        p.set_status(a, 3, by=self.anna)
        self.server = serve(p, port=0)
        self.archive_added = False  # the backfill group joins the config when its fault is met
        self.config = self.write_config()
        self.baseline: float | None = None
        self.mirror_posted = False  # anything of ours in the master (the start note, a mirror): a state may be lost
        self.hooks = PortalHooks(p)
        self.episodes = Episodes(self)
        self.gone_markers: set[str] = set()  # mirrors a person deleted: lost for good (back at most once)
        self.refused_markers: set[str] = set()  # the portal refuses their mirror for ever
        self.unreadable_markers: set[str] = set()  # their date cannot be read now: they wait

    def _archive(self) -> tuple[int, int]:
        """A second group, mirrored with `backfill: true` once added: 150 old comments, all eligible."""
        p = self.portal
        gid = p.add_group("Archive", owner_id=self.anna, members=[self.me, self.anna, self.boris])
        master = self._task("Archive master", None, gid=gid)
        tasks = [self._task("Archive A", master, gid=gid), self._task("Archive B (chat)", master, gid=gid, chat=True)]
        tasks.append(self._task("Archive A1", tasks[0], gid=gid))
        for n in range(150):
            self._comment(tasks[n % 3], self.anna if n % 2 else self.boris, f"archived note {n}")
            if n % 40 == 0:
                self._comment(tasks[n % 3], self.oscar, "an outsider's note")  # not a member: ineligible
                self._comment(tasks[n % 3], self.anna, "#internal archived price")  # hidden
        p.set_status(tasks[0], 3, by=self.anna)
        return gid, master

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

    comment = _comment

    def write_config(self, run_deadline: float = 30) -> Path:
        rules = {"hide": [HIDE], "exclude_extranet": True}
        groups = [{"id": self.group, "master_task": self.master, "depth": DEPTH, "language": "en",
                   "on_edit": "update", "max_posts": 400, "rules": rules}]
        if self.archive_added:
            groups.append({"id": self.archive_group, "master_task": self.archive_master, "depth": DEPTH,
                           "language": "en", "backfill": True, "max_posts": 60, "rules": rules})
            self.masters[self.archive_group] = self.archive_master
        text = textwrap.dedent(f"""
            portal:
              webhook: "{self.server.webhook_url(self.me, self.secret)}"
              read_timeout: 1
              connect_timeout: 2
              run_deadline: {run_deadline}
              burst: 1000
              per_second: 500
            state_file: "{self.tmp / 'state.json'}"
            sweep_every: 5
            groups:
        """) + "".join(f"  - {json.dumps(group)}\n" for group in groups)
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
            elif roll < 0.92 and len(self.level2) < 10:
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

    def start(self, *args: str) -> subprocess.Popen:
        self.figures.runs += 1
        return subprocess.Popen([sys.executable, "-m", "b24mirror", "--config", str(self.config), "-v", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, proc: subprocess.Popen, killed: bool = False) -> int:
        out, err = proc.communicate(timeout=180)
        code = proc.returncode
        self.last_err = err
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
        self.finish(self.start("sync", "--rebuild-state"))

    def cycle(self) -> None:
        self.portal.advance(30)
        n = self.figures.cycles + 1
        mode = 0.0 if n % 5 == 2 else 0.3 if n % 5 == 4 else self.rng.random()
        if mode < 0.25:
            proc = self.start("sync")
            time.sleep(self.rng.uniform(0.05, 1.5))
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
                self.figures.kills += 1
            self.finish(proc, killed=killed)
        elif mode < 0.40:
            self.figures.overlaps += 1
            procs = [self.start("sync"), self.start("sync")]
            for proc in procs:
                self.finish(proc)
        else:
            self.finish(self.start("sync"))
        if not self.mirror_posted:
            self.mirror_posted = any(c["author_id"] == self.me for c in self.portal.comments(self.master))

    def first_sync(self) -> None:
        self.portal.advance(30)
        code = self.finish(self.start("sync"))
        if code != 0:
            raise RuntimeError(f"the first sync, without faults, exited {code}")
        self.portal.advance(30)
        self.baseline = self.portal.now_ts()

    def final(self) -> None:
        self.portal.faults.clear()
        # Clean runs until one exits 0 (a post the portal always refuses is quarantined after 3 refusals,
        # and a lost state forgets the count), then a second one that must find nothing left to do.
        codes = []
        for _ in range(6):
            self.portal.advance(60)
            code = self.finish(self.start("sync"))
            if code == 4:
                continue
            codes.append(code)
            if codes[-2:] == [0, 0]:
                return
        problems = [line for line in self.last_err.splitlines() if "DEBUG" not in line]
        self.figures.details.append(f"the final clean syncs exited {codes}: " + " / ".join(problems[-4:]))

    # --- the oracle -------------------------------------------------------------------------------

    def verdict(self) -> Verdict:
        """The portal judged now: what must be in the masters, against what is."""
        want = Expectation()
        groups = [(self.group, self.master, self.baseline)]
        if self.archive_added:
            groups.append((self.archive_group, self.archive_master, None))  # backfill: every date counts
        for gid, master, baseline in groups:
            expected(self.portal, gid, master, baseline, depth=DEPTH, hide=HIDE, me=self.me, texts=self.texts,
                     into=want)
        found, bad, texts = mirrors_found(self.portal, [m for _, m, _ in groups], self.me, self.texts)
        blob = "\n".join(texts)
        verdict = Verdict(want.eligible, want.ineligible, found, exempt=self.gone_markers | self.refused_markers,
                          gone=set(self.gone_markers), waiting=set(self.unreadable_markers), bad_mirrors=bad,
                          text_leaks=sorted(t for t in want.hidden_tokens if t in blob))
        for marker in self.gone_markers:  # may come back once (after a state loss), never twice
            if found.get(marker, 0) == 1:
                verdict.eligible.add(marker)
        return verdict

    def mirror_of(self, marker: str) -> int | None:
        return next((cid for m, cid in self.live_mirrors() if m == marker), None)

    def live_mirrors(self) -> list[tuple[str, int]]:
        found = []
        for master in self.masters.values():
            for c in self.portal.comments(master):
                if c["author_id"] == self.me and not c["deleted"] and (master, c["id"]) not in self.texts:
                    found += [(m.group(0), c["id"]) for m in MARKER.finditer(c["text"])]
        return found

    def judge(self) -> Figures:
        f = self.figures
        v = self.verdict()
        f.eligible, f.ineligible = len(v.eligible), len(v.ineligible)
        f.mirrored = len(set(v.found) & v.eligible)
        f.duplicates = sum(n - 1 for n in v.duplicates.values())
        f.losses, f.leaks, f.text_leaks = len(v.lost), len(v.leaked) + len(v.bad_mirrors), len(v.text_leaks)
        f.lost_by_rule = len((self.gone_markers | self.refused_markers) - set(v.found))
        f.reposted_after_deletion = v.reposted
        f.details += [f"a mirror without exactly one marker: {text!r}" for text in v.bad_mirrors]
        f.details += [f"duplicate: {m} x{n}" for m, n in sorted(v.duplicates.items())]
        f.details += [f"lost: {m}" for m in v.lost]
        f.details += [f"leaked: {m}" for m in v.leaked]
        f.details += [f"text of an ineligible comment in a mirror: {token}" for token in v.text_leaks]
        # The database and its log, as bytes: what any reader of the folder could find.
        state = b"".join(p.read_bytes() for p in (self.state_path, Path(f"{self.state_path}-wal")) if p.exists())
        if self.secret.encode() in state:
            f.secret_seen += 1
            f.details.append("the webhook secret is in the state file")
        stats = self.portal.stats
        f.faults_injected, f.faults_by_kind = stats.faults_injected, Counter(stats.faults_by_kind)
        if self.hooks.refused:
            f.faults_by_kind["refused post (command)"] = self.hooks.refused
        return f

    def run(self, cycles: int) -> Figures:
        started = time.monotonic()
        self.hooks.install()
        try:
            self.first_sync()
            for number in range(1, cycles + 1):
                self.activity()
                self.chaos()
                self.cycle()
                self.figures.cycles = number
                if number % 2 == 1:  # every other cycle, the next targeted fault in turn
                    self.episodes.run(KINDS[(number // 2) % len(KINDS)])
                if number % 10 == 0:
                    self.log(f"cycle {number}/{cycles}: {self.figures.runs} runs, {self.figures.kills} kills, "
                             f"{self.portal.stats.faults_injected} faults")
            self.final()
            self.judge()
        finally:
            self.hooks.uninstall()
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
