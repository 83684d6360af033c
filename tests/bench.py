"""Request benchmark: b24mirror against a naive poller, on the fake portal with standard-plan limits.

Run it with `make bench` (or `python -m tests.bench [--only S,M,L,H] [--skip-naive]`).

Three portals:  S (1 group, 50 tasks, classic), M (10 groups x 300 tasks, classic) and
L (50 groups x 500 tasks, every third task on the new card, comments in its chat); and M2, M with two
targets a group (`targets:`: the master, and a task in a customer's extranet group; `--only M2`). On each:

  first sync        the first run over the groups (records a baseline)
  no change         a run in which nothing happened
  1% changed        1% of the tasks got a comment, a status or a deadline change
  backfill 2,000    2,000 comments were written across the tasks; the run mirrors them all
                    (the per-group cap lifted with --max-posts, so one run takes the lot)

H is the history axis (tests/bench_history.py): a quiet run and a 1%-changed run with 10k, 100k
and 1M mirrors in the state, printing CPU seconds, peak RSS, bytes written and the state's size.

and on L, an hour of cron: 12 runs of 5 minutes in which nothing changed, periodic full sweeps
included (`sweep_every` 12, spread by group id).

Figures per run: HTTP requests the portal received, batch commands, 503s the portal sent, the
seconds of waiting the limits impose (the client's pacing plus any retry backoff), the run's own
time, its peak RSS (each run is a process of its own, as under cron), and the same for a naive poller kept here as the baseline: it lists
every task page by page and asks each task's comments (or chat) and history every cycle, one
request each, no batch, paced under the same limits (its reads only; it posts nothing).

Time is virtual and shared by the client and the portal: a sleep advances it at once, so the
limits cost nothing but bookkeeping and the benchmark finishes in minutes. Cron's 5 minutes pass
between runs the same way. The portal runs in a process of its own too, so the memory figures
are b24mirror's.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from b24mirror.app import make_client as client_factory  # the client the commands use, pacing and all

CRON_PERIOD = 300.0  # seconds between runs
DAY = 86400.0


# --- the shared virtual clock -----------------------------------------------------------------

class VirtualClock:
    """Seconds since the benchmark began, shared across processes; sleeping advances it at once."""

    def __init__(self, cell) -> None:
        self.cell = cell  # a multiprocessing.Value('d') shared with the portal's process

    def now(self) -> float:
        return self.cell.value

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.cell.value += seconds

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


# --- the portals --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shape:
    name: str
    groups: int
    tasks: int  # per group, the master included
    chat_every: int = 0  # every Nth task on the new card (0: all classic)
    label: str = ""
    audiences: int = 1  # 2: each group's mirrors go to its master and to a customer's task (`targets:`)


SHAPES = {
    "S": Shape("S", 1, 50, 0, "1 group x 50 tasks, classic"),
    "M": Shape("M", 10, 300, 0, "10 groups x 300 tasks, classic"),
    "M2": Shape("M2", 10, 300, 0, "M, two targets a group (the master; a task in a customer's extranet group), weekly reports on",
                audiences=2),
    "L": Shape("L", 50, 500, 3, "50 groups x 500 tasks, a third new-card"),
}


def build_world(shape: Shape, clock: VirtualClock, seed: int = 7):
    """A portal shaped like a real project space: a master per group, subtasks two levels deep,
    a few weeks of comments. Returns (portal, info)."""
    from b24mirror.fakeportal import FakePortal

    rng = random.Random(seed)
    start = 1_767_000_000.0 - 30 * DAY  # fixed, so runs are comparable
    portal = FakePortal(seed=seed, limits="standard", clock=clock.now, start=start)
    me = portal.add_user("Mirror", "Robot")
    people = [portal.add_user(f"Person{i}", f"Member{i}") for i in range(24)]
    extranet = portal.add_user("Eve", "Contractor", extranet=True)
    secret = portal.add_webhook(me)
    groups = []
    step = 20 * DAY / max(1, shape.tasks)
    for g in range(shape.groups):
        members = [me, extranet] + rng.sample(people, 8)
        gid = portal.add_group(f"Project {g + 1}", owner_id=members[2], members=members)
        master = portal.add_task(f"Project {g + 1}: master", created_by=members[2], group_id=gid, auditors=(me,))
        level1: list[int] = []
        for i in range(1, shape.tasks):
            chat = bool(shape.chat_every) and i % shape.chat_every == 0
            parent = master if not level1 or i % 5 == 1 else rng.choice(level1)
            tid = portal.add_task(f"Task {g + 1}.{i}", created_by=members[2], responsible_id=rng.choice(members[2:]),
                                  group_id=gid, parent_id=parent, new_card=chat, auditors=(me,))
            if parent == master:
                level1.append(tid)
            if rng.random() < 0.5:
                portal.add_comment(tid, rng.choice(members[2:]), f"Comment on {g + 1}.{i}")
        groups.append({"id": gid, "master_task": master, "members": members[2:]})
        portal.advance(step * 0)  # dates spread by the clock below
    if shape.audiences > 1:  # made last: the projects' ids (and so their sweeps) are M's
        room = portal.add_group("Customer room", owner_id=me, members=[me, extranet])
        for g, group in enumerate(groups):
            group["customer"] = portal.add_task(f"Project {g + 1}: for the customer", created_by=me,
                                                responsible_id=extranet, group_id=room, auditors=(me,))
    # Everything above happened over the last weeks; the present starts now.
    portal.advance(20 * DAY)
    return portal, {"me": me, "secret": secret, "groups": groups}


def _subtasks(portal, info) -> list[tuple[int, list[int]]]:
    masters = {g["master_task"] for g in info["groups"]}
    members = {g["id"]: g["members"] for g in info["groups"]}
    return [(t.id, members[t.group_id]) for t in portal.tasks.values()
            if t.id not in masters and t.group_id in members]


def change_some(portal, info, share: float, rng: random.Random) -> int:
    """share of the tasks get a comment, a status change or a deadline move."""
    tasks = _subtasks(portal, info)
    picked = rng.sample(tasks, max(1, round(len(tasks) * share)))
    for tid, members in picked:
        roll = rng.random()
        if roll < 0.6:
            portal.add_comment(tid, rng.choice(members), f"News on {tid}")
        elif roll < 0.85:
            portal.set_status(tid, rng.choice([3, 4, 5]), by=rng.choice(members))
        else:
            portal.set_deadline(tid, portal.now_ts() + rng.randint(2, 20) * DAY, by=rng.choice(members))
    return len(picked)


def add_comments(portal, info, count: int, rng: random.Random) -> int:
    tasks = _subtasks(portal, info)
    for n in range(count):
        tid, members = rng.choice(tasks)
        portal.add_comment(tid, rng.choice(members), f"Backlog comment {n} on {tid}")
    return count


def portal_process(shape: Shape, cell, conn) -> None:
    """The portal's own process: builds the world, serves it, and acts on the benchmark's orders."""
    from b24mirror.fakeportal import serve

    clock = VirtualClock(cell)
    portal, info = build_world(shape, clock)
    server = serve(portal, port=0)
    rng = random.Random(11)
    conn.send({"webhook": server.webhook_url(info["me"], info["secret"]),
               "groups": [{k: g[k] for k in ("id", "master_task", "customer") if k in g} for g in info["groups"]],
               "tasks": sum(1 for _ in portal.tasks.values())})
    while True:
        order, *args = conn.recv()
        if order == "stop":
            server.shutdown()
            conn.send(None)
            return
        with portal.lock:
            if order == "reset":
                portal.reset_stats()
                conn.send(None)
            elif order == "requests":
                conn.send(requests_made(portal.request_log))
            elif order == "stats":
                s = portal.stats
                conn.send({"requests": s.requests, "commands": sum(s.commands.values()),
                           "rejected_503": s.rejected_503, "rejected_429": s.rejected_429})
            elif order == "change":
                conn.send(change_some(portal, info, args[0], rng))
            elif order == "comments":
                conn.send(add_comments(portal, info, args[0], rng))
            else:
                conn.send(ValueError(order))


def requests_made(log) -> list[dict[str, int]]:
    """The commands each request carried, in order (method -> count; a request that is no batch: itself)."""
    made: list[dict[str, int]] = []
    for entry in log:
        if not entry.in_batch:
            made.append({} if entry.method == "batch" else {entry.method: 1})
        elif made:
            made[-1][entry.method] = made[-1].get(entry.method, 0) + 1
    return made


def _fmt_requests(made: list[dict[str, int]]) -> str:
    return "\n".join(f"     {n:>3}. " + ", ".join(f"{method} {count}" for method, count in sorted(commands.items()))
                     for n, commands in enumerate(made, 1))


class PortalHandle:
    def __init__(self, shape: Shape) -> None:
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
        self.cell = ctx.Value("d", 0.0, lock=False)
        self.clock = VirtualClock(self.cell)
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=portal_process, args=(shape, self.cell, child), daemon=True)
        self.process.start()
        self.info = self.conn.recv()

    def ask(self, *order):
        self.conn.send(order)
        answer = self.conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        try:
            self.ask("stop")
        finally:
            self.process.join(10)


# --- the runs -----------------------------------------------------------------------------------

@dataclass
class Figures:
    requests: int = 0
    commands: int = 0
    rejected_503: int = 0
    waited: float = 0.0
    peak_mb: float = 0.0
    posted: int = 0
    wall: float = 0.0
    errors: list = field(default_factory=list)


def make_client(config, clock: VirtualClock, *, deadline: bool = True):
    """The commands' own client (pacing included: switched off there, it is off here too), on virtual time."""
    return client_factory(config, with_deadline=deadline, clock=clock.now, sleep=clock.sleep,
                          wall=lambda: 1_767_000_000.0 + clock.now())


FEATURES = {"digest": {"every": "1h"}, "checklist": True}  # --features: the manager's view switched on


def _audiences(group: dict) -> dict:
    if "customer" not in group:
        return {}
    # Each target with its weekly status report on: a run with no report due costs no request for it.
    return {"targets": [{"task": group["master_task"], "name": "internal", "report": {"every": "1w"}},
                        {"task": group["customer"], "name": "customer", "rules": {"hide": ["^#internal", "(?i)price"]},
                         "report": {"every": "1w"}}]}


def make_config(handle: PortalHandle, tmp: Path, features: tuple[str, ...] = ()):
    from b24mirror.config.load import validate

    data = {
        "portal": {"webhook": handle.info["webhook"], "plan": "standard", "read_timeout": 60},
        "state_file": str(tmp / "state.json"),
        "language": "en",
        "groups": [{"id": g["id"], "master_task": g["master_task"], "depth": 2, **{k: FEATURES[k] for k in features},
                    **_audiences(g)} for g in handle.info["groups"]],
    }
    return validate(data, base_dir=tmp, environ={})


def _sync_in_child(config, options, cell, conn) -> None:
    """One b24mirror run in a process of its own (a fork: like cron's), so its peak RSS is its own."""
    from b24mirror.app import run_sync

    clock = VirtualClock(cell)
    client = make_client(config, clock)
    wall = time.perf_counter()
    try:
        reports = run_sync(config, options, client=client)
        errors = [f"group {r.group_id}: {r.error}" for r in reports if not r.ok]
        posted = sum(sum(r.posted.values()) for r in reports)
    except Exception as exc:  # reported, not hidden: the bench says which run broke
        errors, posted = [f"{type(exc).__name__}: {exc}"], 0
    conn.send({"commands": client.stats.batch_commands, "waited": client.stats.waited_seconds,
               "wall": time.perf_counter() - wall, "posted": posted, "errors": errors,
               "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def run_b24mirror(handle: PortalHandle, config, options) -> Figures:
    handle.ask("reset")
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=_sync_in_child, args=(config, options, handle.cell, theirs))
    child.start()
    got = mine.recv()
    child.join()
    stats = handle.ask("stats")
    return Figures(requests=stats["requests"], commands=got["commands"], rejected_503=stats["rejected_503"],
                   waited=got["waited"], peak_mb=got["rss_mb"], posted=got["posted"], wall=got["wall"],
                   errors=got["errors"])


def run_naive(handle: PortalHandle, config) -> Figures:
    """The baseline: every task page by page, then each task's comments and history, one request each."""
    from b24mirror.portal import TASK_SELECT

    handle.clock.advance(CRON_PERIOD)  # the portal's bucket drains of b24mirror's requests first
    handle.ask("reset")
    client = make_client(config, handle.clock, deadline=False)  # it takes as long as it takes
    wall = time.perf_counter()
    try:
        for group in config.groups:
            start: int | None = 0
            while start is not None:
                page = client.call("tasks.task.list", {"filter": {"GROUP_ID": group.id}, "order": {"ID": "asc"},
                                                       "select": TASK_SELECT, "start": start})
                for task in page.result["tasks"]:
                    if task.get("chatId"):
                        client.call("im.dialog.messages.get", {"DIALOG_ID": f"chat{task['chatId']}", "LIMIT": 50})
                    else:
                        client.call("task.commentitem.getlist", {"0": task["id"], "1": {"ID": "asc"}})
                    client.call("tasks.task.history.list", {"taskId": task["id"]})
                start = page.next
    finally:
        client.close()
    stats = handle.ask("stats")
    return Figures(requests=stats["requests"], commands=0, rejected_503=stats["rejected_503"],
                   waited=client.stats.waited_seconds, wall=time.perf_counter() - wall)


# --- the table ----------------------------------------------------------------------------------

TARGETS = {  # issue 21
    ("M", "no change"): 2,
    ("M", "1% changed"): 7,
    ("L", "no change"): 4,
    ("L", "1% changed"): 20,
    ("M2", "no change"): 2,  # issue 23: two targets a group, their reads ride the same requests
    ("M2", "1% changed"): 9,
}
HOUR_TARGET = 15  # L: mean requests per no-change run over an hour of cron
MEMORY_TARGET_MB = 200.0


@dataclass
class Row:
    portal: str
    cycle: str
    ours: Figures
    naive: Figures | None
    target: str = ""
    met: bool | None = None


def _fmt_row(row: Row) -> str:
    o, n = row.ours, row.naive
    naive = (f"{n.requests:>7} {n.rejected_503:>4} {n.waited:>9.0f}  {n.requests / max(1, o.requests):>6.0f}x"
             if n else f"{'-':>7} {'-':>4} {'-':>9}  {'-':>7}")
    verdict = "" if row.met is None else ("ok" if row.met else "MISSED")
    return (f"{row.portal:<2} {row.cycle:<16} {o.requests:>5} {o.commands:>6} {o.rejected_503:>4} {o.waited:>7.1f} "
            f"{o.waited + o.wall:>6.0f} {o.peak_mb:>6.1f} {o.posted:>5} | {naive} | {row.target:<20} {verdict}")


HEADER = (f"{'':<2} {'cycle':<16} {'reqs':>5} {'cmds':>6} {'503':>4} {'limit s':>7} {'run s':>6} {'MB':>6} "
          f"{'posts':>5} | {'naive':>7} {'503':>4} {'limit s':>9}  {'ratio':>7} | {'target':<20}")


def bench_portal(shape: Shape, *, naive: str, hour: bool, out, features: tuple[str, ...] = (),
                 requests: bool = False) -> list[Row]:
    from b24mirror.sync import SyncOptions

    rows: list[Row] = []
    handle = PortalHandle(shape)
    try:
        with tempfile.TemporaryDirectory(prefix=f"b24bench-{shape.name}-") as tmp:
            config = make_config(handle, Path(tmp), features)
            rng_note = f"{shape.name}: {shape.label}, {handle.info['tasks']} tasks in the portal"
            print(rng_note, file=out, flush=True)

            baseline: list[Figures] = []

            def cycle(name: str, options=None, prepare=None) -> Row:
                handle.clock.advance(CRON_PERIOD)
                if prepare:
                    prepare()
                ours = run_b24mirror(handle, config, options or SyncOptions())
                made = handle.ask("requests") if requests else []
                theirs = None
                if naive == "every" or (naive == "once" and not baseline):
                    theirs = run_naive(handle, config)
                    baseline[:] = [theirs]
                elif naive == "once":
                    theirs = baseline[0]  # the poller asks the same whatever changed
                row = Row(shape.name, name, ours, theirs)
                target = TARGETS.get((shape.name, name))
                if target is not None:
                    row.target, row.met = f"<= {target} reqs", ours.requests <= target
                if shape.name == "L":
                    fits = ours.waited + ours.wall <= CRON_PERIOD
                    row.target = row.target or f"run <= {CRON_PERIOD:.0f} s"
                    row.met = fits if row.met is None else (row.met and fits)
                if ours.rejected_503:
                    row.met = False
                    row.target = (row.target + " no 503").strip()
                for error in ours.errors:
                    print(f"   ! {error}", file=out)
                print(_fmt_row(row), file=out, flush=True)
                if made and len(made) <= 40:  # a backfill's hundreds of requests say nothing one by one
                    print(_fmt_requests(made), file=out, flush=True)
                rows.append(row)
                return row

            cycle("first sync")
            cycle("no change")
            share = 0.01
            cycle("1% changed", prepare=lambda: handle.ask("change", share))
            cycle("backfill 2,000", SyncOptions(max_posts=2000), prepare=lambda: handle.ask("comments", 2000))
            if hour:
                figures = []
                for i in range(12):
                    handle.clock.advance(CRON_PERIOD)
                    figures.append(run_b24mirror(handle, config, SyncOptions()))
                mean = sum(f.requests for f in figures) / len(figures)
                worst = max(figures, key=lambda f: f.waited + f.wall)
                summary = Figures(requests=round(mean), commands=round(sum(f.commands for f in figures) / 12),
                                  rejected_503=sum(f.rejected_503 for f in figures), waited=worst.waited,
                                  wall=worst.wall, peak_mb=max(f.peak_mb for f in figures))
                per_run = " ".join(str(f.requests) for f in figures)
                row = Row(shape.name, "hour, no change", summary, rows[1].naive if rows else None,
                          f"<= {HOUR_TARGET} mean, run <= {CRON_PERIOD:.0f} s",
                          mean <= HOUR_TARGET and worst.waited + worst.wall <= CRON_PERIOD
                          and not summary.rejected_503)
                print(_fmt_row(row) + f"  (mean {mean:.1f}; per run: {per_run})", file=out, flush=True)
                rows.append(row)
    finally:
        handle.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="S,M,L,H", help="portals to run, e.g. M or S,M; H: the history axis")
    parser.add_argument("--skip-naive", action="store_true", help="leave the baseline out (quicker)")
    parser.add_argument("--full-naive", action="store_true",
                        help="run the baseline on every L cycle too (its count does not depend on what changed: "
                             "by default it runs on L's first cycle only; 50,000 requests a cycle take minutes)")
    parser.add_argument("--requests", action="store_true",
                        help="after each cycle, the commands each of b24mirror's requests carried")
    parser.add_argument("--features", default="", help="switched on in every group: digest ({every: 1h}), checklist")
    args = parser.parse_args(argv)
    out = sys.stdout
    started = time.perf_counter()
    print("b24mirror bench: standard plan (burst 50, 2 requests/s), virtual time, cron every 5 minutes", file=out)
    print("reqs: HTTP requests; cmds: batch commands; 503: refusals received; limit s: seconds of waiting the "
          "limits impose;\nrun s: limit s + the run's own time against the fake portal; MB: peak RSS of the run "
          "(a process of its own);\nnaive: the baseline's requests (reads only); ratio: its requests per b24mirror request; "
          "the hour row: mean requests, slowest run", file=out)
    print(HEADER, file=out)
    print("-" * len(HEADER), file=out)
    rows: list[Row] = []
    names = [n.strip().upper() for n in args.only.split(",") if n.strip()]
    for name in [n for n in names if n != "H"]:
        naive = "none" if args.skip_naive else "every" if (args.full_naive or name != "L") else "once"
        rows += bench_portal(SHAPES[name], naive=naive, hour=name == "L", out=out, requests=args.requests,
                             features=tuple(f.strip() for f in args.features.split(",") if f.strip()))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    large = [r.ours.peak_mb for r in rows if r.portal == "L"]
    print("-" * len(HEADER), file=out)
    missed = [r for r in rows if r.met is False]
    if large:
        ok = max(large) < MEMORY_TARGET_MB
        print(f"L peak RSS of a run {max(large):.1f} MB (target < {MEMORY_TARGET_MB:.0f} MB): "
              f"{'ok' if ok else 'MISSED'}", file=out)
        missed += [] if ok else ["memory"]
    print(f"benchmark process max RSS {rss_mb:.0f} MB; {time.perf_counter() - started:.0f} s", file=out)
    if "H" in names:
        from tests.bench_history import bench_history

        missed += bench_history(out)
    print("all targets met" if not missed else f"{len(missed)} target(s) missed", file=out)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
