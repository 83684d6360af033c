"""Lifetime soak: a project's year in virtual time, one `b24mirror sync` a day, then a verdict.

Run it with `make soak` (after the fault soak) or `python -m tests.soak_year --days 365 --seed S`; the suite runs a
short year (tests/test_soak_year_small.py). The fake portal's clock is moved a day at a time; the real command runs
in a subprocess against the portal served over HTTP.

Each day people write in three projects (tests/soak_year_world.py): comments and files, some hidden (`#internal`),
some carrying a word a rule added mid-year hides (`payroll`: in text, task titles and file names) or redacts
(`SECRET-1234`), from members, an extranet member and an outsider; status changes; new subtasks. Now and then: a
member of A leaves, is deactivated, rejoins or is reactivated; a task moves out of A's subtree and back, or across
to B and back; a person edits or deletes one of their comments in A (`on_edit: update`, `on_delete: mark`); the
state file is lost (once every master holds a mirror). B posts a daily digest. On the rule day the config gains the
`hide` and `redact` rules and the operator runs `audit` and `repair` until audit is clean; on the switch day the
whole portal moves to the new task card (fakeportal/cardswitch.py); on the archive day group C (a long history,
`backfill: true`) joins the config, its first run is stopped by SIGINT and the next by SIGTERM while the portal
holds one of their post requests (the portal says when: no timing), and the state file is lost after them.

The oracle knows nothing of b24mirror's code. From the soak's own record of what happened, each master must hold
every eligible item exactly once: a comment, status change or new subtask written while its task hung under that
master (within the depth), after the first sync (C: ever), by a member of the group at the time (not extranet, not
the portal), whose text, file names and branch titles no `hide` rule now covers. A task's items count from when
they were written where they were: what was written while it was away is in no master, and what was mirrored before
it left stays. No mirror may carry a marker of anything else (a moved task's announcement and an edited or deleted
comment's note aside, each at most once), and no mirror's text may show a hidden item's text, a word the final
`hide` rules cover, or a redacted secret.

Unambiguous by construction: membership changes, moves, lost states and the rule change come only on a day after a
day whose sync exited 0 (so every item was seen, judged and posted before anything about it changed); people write
only in projects they are members of (the outsider and the extranet member aside); a task that moves has no
subtasks, and leaves B only when none of its items there can still wait for B's digest (a held item whose task left
is judged again and not posted); edits and deletes touch comments of earlier days, in A (no digest there); the rule
day comes before the card switch (a mirror left in the forum of a switched master cannot be rewritten, as the
platform has it).
"""
from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from b24mirror.fakeportal import serve
from tests.soak_year_world import DAY, DEPTH, HIDE_FROM_START, HIDE_MID_YEAR, REDACT_MID_YEAR, YearWorld



@dataclass
class YearFigures:
    days: int = 0
    runs: int = 0
    exit_codes: Counter = field(default_factory=Counter)
    happenings: Counter = field(default_factory=Counter)
    items: int = 0
    eligible: int = 0
    mirrors: int = 0  # mirror comments in the masters
    duplicates: int = 0
    losses: int = 0
    leaks: int = 0
    text_leaks: int = 0
    tracebacks: int = 0
    secret_seen: int = 0
    requests: int = 0
    cpu: float = 0.0
    seconds: float = 0.0
    details: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.losses or self.leaks or self.text_leaks or self.tracebacks
                    or self.secret_seen)

    def table(self) -> str:
        rows = [("days", self.days), ("runs (sync, audit, repair)", self.runs),
                ("exit codes", ", ".join(f"{k}: {n}" for k, n in sorted(self.exit_codes.items(), key=str))),
                ("happenings", ", ".join(f"{k} {n}" for k, n in sorted(self.happenings.items()))),
                ("items written", self.items), ("eligible items", self.eligible), ("mirrors posted", self.mirrors),
                ("duplicates", self.duplicates), ("losses", self.losses), ("leaks (markers)", self.leaks),
                ("leaks (text)", self.text_leaks), ("tracebacks", self.tracebacks),
                ("secret in output", self.secret_seen), ("requests", self.requests),
                ("CPU seconds (runs + portal)", f"{self.cpu:.1f}"), ("seconds", f"{self.seconds:.0f}")]
        width = max(len(name) for name, _ in rows)
        lines = ["b24mirror lifetime soak", "-" * (width + 40)]
        lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines += ["-" * (width + 40), "verdict: " + ("CLEAN" if self.clean else "FAILED"), *self.details[:40]]
        return "\n".join(lines)


class YearSoak:
    def __init__(self, tmp: Path, seed: int, days: int, log=print) -> None:
        self.tmp, self.days, self.log = tmp, days, log
        self.world = w = YearWorld(seed)
        self.portal = w.portal
        self.figures = YearFigures()
        self.server = serve(self.portal, port=0)
        self.rule_day, self.switch_day, self.archive_day = round(days * 0.4), round(days * 0.55), round(days * 0.7)
        self.lose_state_every = max(4, days // 8)
        self.rules_added = self.archive_added = False
        self.baselines: dict[int, float | None] = {}
        self.clean_yesterday = True
        w.archive_history(60 if days < 30 else 240)

    # --- config and runs ----------------------------------------------------------------------------------

    def write_config(self) -> Path:
        w = self.world
        rules = {"hide": [HIDE_FROM_START] + ([HIDE_MID_YEAR] if self.rules_added else []),
                 "redact": [REDACT_MID_YEAR] if self.rules_added else [], "exclude_extranet": True}
        common = {"depth": DEPTH, "language": "en", "max_posts": 500, "rules": rules}
        groups = [{"id": w.a, "master_task": w.ma, "on_edit": "update", "on_delete": "mark", **common},
                  {"id": w.b, "master_task": w.mb, "digest": {"every": "1d"}, **common}]
        if self.archive_added:
            groups.append({"id": w.c, "master_task": w.mc, "backfill": True, **common})
        path = self.tmp / "b24mirror.yaml"
        path.write_text(textwrap.dedent(f"""
            portal:
              webhook: "{self.server.webhook_url(w.me, w.secret)}"
              read_timeout: 30
              burst: 1000
              per_second: 500
            state_file: "{self.state_path}"
            groups:
        """) + "".join(f"  - {json.dumps(g)}\n" for g in groups))
        return path

    @property
    def state_path(self) -> Path:
        return self.tmp / "state.json"

    def start(self, *args: str) -> subprocess.Popen:
        self.figures.runs += 1
        self.portal.advance(60)
        return subprocess.Popen([sys.executable, "-m", "b24mirror", "--config", str(self.write_config()), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, proc: subprocess.Popen, what: str) -> int:
        out, err = proc.communicate(timeout=600)
        self.last_out, self.last_err = out, err
        self.figures.exit_codes[f"{what} {proc.returncode}"] += 1
        if "Traceback" in out + err:
            self.figures.tracebacks += 1
            self.figures.details.append(f"traceback in {what}:\n{err[-2000:]}")
        if self.world.secret in out + err:
            self.figures.secret_seen += 1
        if what == "sync" and proc.returncode != 0:
            self.figures.details.append(f"day {self.figures.days}: sync exited {proc.returncode}: {err[-400:]}")
        return proc.returncode

    def run(self, *args: str) -> int:
        return self.finish(self.start(*args), args[0])

    def stopped_run(self, needle: str, stop: str) -> None:
        """A sync stopped by a signal while the portal holds the post request carrying `needle`."""
        hold = self.portal.faults.add("hold", "batch", count=1, contains=needle)
        proc = self.start("sync")
        if hold.reached.wait(timeout=60):
            proc.send_signal(getattr(signal, stop))
            self.figures.happenings[f"{stop} mid-backfill"] += 1
        self.portal.faults.release()
        self.finish(proc, "stopped sync")
        self.portal.faults.clear()

    # --- the year -----------------------------------------------------------------------------------------

    def lose_state(self) -> None:
        for path in (self.state_path, Path(f"{self.state_path}-wal"), Path(f"{self.state_path}-shm")):
            path.unlink(missing_ok=True)
        self.figures.happenings["state lost"] += 1

    def every_master_has_mirrors(self) -> bool:
        """A state lost before a master holds anything of ours (its start note, a mirror) leaves nothing to read
        the baseline back from: the next run starts afresh. The soak loses states after the first sync posted."""
        masters = [m for g, m in self.world.masters.items() if g != self.world.c or self.archive_added]
        return all(any(c["author_id"] == self.world.me for c in self.portal.comments(m)) for m in masters)

    def day(self, number: int) -> None:
        w, rng, happen = self.world, self.world.rng, self.figures.happenings
        self.portal.advance(DAY - 3600 * 6)
        start_of_day = self.portal.now_ts()
        if self.clean_yesterday:  # what changes around items comes only after a day that posted them all
            # By chance, and on fixed days too, so that a short year meets each kind.
            if rng.random() < 0.12 or number == 2:
                happen[f"member {w.people_change()}"] += 1
            if rng.random() < 0.12 or number in (1, self.days - 1):
                happen[f"task moved {w.move_rover()}"] += 1
            if number % self.lose_state_every == 0 and number != self.archive_day and self.every_master_has_mirrors():
                self.lose_state()
            if number == self.rule_day:
                self.rules_added = True
                happen["rules added"] += 1
        if number == self.switch_day:
            self.portal.switch_to_new_card()
            happen["card switch"] += 1
        if number == 1:
            w.before_the_rules()
        w.people_write(rng.randint(3, 8))
        for _ in range(rng.randint(0, 2)):
            w.status_change()
        if rng.random() < 0.1:
            w.new_subtask()
        if rng.random() < 0.3:
            w.edit_or_delete(start_of_day)
        if number == self.archive_day:
            self.archive_added = True
            # Posts go 50 to a request: the second stop falls in the continuation's own request.
            self.stopped_run("archived_005", "SIGINT")
            self.stopped_run("archived_058", "SIGTERM")
            self.lose_state()
        code = self.run("sync")
        if number == self.rule_day:
            self.operator_repairs()
        self.clean_yesterday = code == 0

    def operator_repairs(self) -> None:
        """The operator, after adding rules: audit, then repair until it says the masters are clean."""
        if self.run("audit") == 0:
            return
        for _ in range(3):  # repair audits again itself: what it leaves is in its JSON
            self.figures.happenings["repair runs"] += 1
            self.run("repair", "--json")
            said = json.loads(self.last_out or "{}")
            if "groups" not in said:
                break
            left = [f for g in said["groups"] for f in g["left"]]
            # A mirror whose source a person deleted (`on_delete: mark` rewrote it) is an orphan a person judges.
            if all(f["kind"] == "orphaned" for f in left):
                self.figures.happenings["orphans left to a person"] += len(left)
                return
        self.figures.details.append(f"repair not clean on the rule day: {self.last_out[-1500:]} {self.last_err[-1500:]}")
        self.figures.leaks += 1

    def first_sync(self) -> None:
        self.portal.advance(3600)
        if self.run("sync") != 0:
            raise RuntimeError("the first sync exited non-zero")
        self.baselines = {self.world.ma: self.portal.now_ts(), self.world.mb: self.portal.now_ts(),
                          self.world.mc: None}

    def final(self) -> None:
        self.portal.advance(DAY)  # the last digest is due a day after its first item
        if self.run("sync") != 0:
            self.figures.details.append("the last sync did not exit 0")

    def go(self) -> YearFigures:
        started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            self.first_sync()
            for number in range(1, self.days + 1):
                self.day(number)
                self.figures.days = number
                if number % 30 == 0:
                    self.log(f"day {number}/{self.days}: {self.figures.runs} runs")
            self.final()
            from tests.soak_year_oracle import judge
            judge(self)
        finally:
            self.server.shutdown()
        after, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        self.figures.cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                            + me.ru_utime + me.ru_stime)
        self.figures.requests = self.portal.stats.requests
        self.figures.seconds = time.monotonic() - started
        return self.figures


def run_year(days: int, seed: int = 1, tmp: Path | None = None, log=print) -> YearFigures:
    if tmp is None:
        with tempfile.TemporaryDirectory(prefix="b24mirror-year-") as folder:
            return YearSoak(Path(folder), seed, days, log).go()
    return YearSoak(Path(tmp), seed, days, log).go()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak_year", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    figures = run_year(args.days, args.seed)
    print(figures.table())
    return 0 if figures.clean else 1


if __name__ == "__main__":
    sys.exit(main())
