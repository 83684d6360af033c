"""The history axis of the benchmark: the same quiet run and 1%-changed run with 10k, 100k and 1M
mirrors already in the state (50 groups), each run a process of its own.

Per run: CPU seconds of the b24mirror process, its peak RSS, the bytes it wrote (`wchar` of
/proc/self/io: the state's commits and checkpoint, and its requests' bodies), the state's size on
disk and the requests the portal received. Up to 10k the history is made by real runs against the
fake portal (comments written in the portal's own process, a few thousand a run, the per-run cap
lifted); beyond, it is filled through the state's own API in bulk (a transaction per group), as mirrors
of the portal's real tasks, so the engine's look-ups by task meet them.
"""
from __future__ import annotations

import multiprocessing as mp
import random
import resource
import tempfile
import time
from pathlib import Path

from tests.bench import CRON_PERIOD, PortalHandle, Shape, VirtualClock, make_client, make_config

SHAPE = Shape("H", 50, 60, 0, "50 groups x 60 tasks, classic")
POINTS = (10_000, 100_000, 1_000_000)
REAL_UP_TO = 10_000  # mirrors made by real runs; the rest through the state's API
COMMENTS_PER_RUN = 2_500
TARGETS = {"cpu_ratio": 1.5, "rss_mb": 100.0, "quiet_written_kb": 256.0, "bytes_per_mirror": 150.0}


def _wchar() -> int:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _state_bytes(path: str) -> int:
    return sum(p.stat().st_size for p in (Path(path), Path(f"{path}-wal")) if p.exists())


def _run_in_child(config, cell, max_posts, conn) -> None:
    from b24mirror.app import run_sync
    from b24mirror.sync import SyncOptions

    client = make_client(config, VirtualClock(cell))
    written, cpu = _wchar(), time.process_time()
    errors, posted = [], 0
    try:
        reports = run_sync(config, SyncOptions(max_posts=max_posts), client=client)
        errors = [f"group {r.group_id}: {r.error}" for r in reports if not r.ok]
        posted = sum(sum(r.posted.values()) for r in reports)
    except Exception as exc:  # reported, not hidden
        errors = [f"{type(exc).__name__}: {exc}"]
    conn.send({"cpu": time.process_time() - cpu, "written": _wchar() - written, "errors": errors,
               "posted": posted, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _fill_in_child(state_file: str, tasks: dict[int, list[int]], start: int, stop: int, conn) -> None:
    from b24mirror.state import open_state

    rng = random.Random(start)
    groups = sorted(tasks)
    share = (stop - start) // len(groups)
    for index, gid in enumerate(groups):
        with open_state(state_file) as state:  # a state per group: its rows leave memory with it
            first = start + index * share
            state.group(gid).record_posts([
                (f"b24m:comment:{rng.choice(tasks[gid])}:{10_000_000 + n}", 20_000_000 + n, "2026-11-04T09:15:00+03:00")
                for n in range(first, first + share)])
    conn.send(None)


def _child(target, *args):
    ctx = mp.get_context("fork")
    mine, theirs = ctx.Pipe()
    process = ctx.Process(target=target, args=(*args, theirs))
    process.start()
    answer = mine.recv()
    process.join()
    return answer


def _make_history(handle: PortalHandle, run, made: int, upto: int, out) -> int:
    """Mirrors made by real runs until `upto`: comments written in the portal, then a sync posting them all."""
    runs = 0
    while made < upto:
        got = run(lambda: handle.ask("comments", min(COMMENTS_PER_RUN, upto - made)), max_posts=COMMENTS_PER_RUN)
        runs += 1
        if not got["posted"]:
            raise RuntimeError(f"a history run posted nothing ({'; '.join(got['errors'])})")
        made += got["posted"]
    if runs:
        print(f"{made:>9,} mirrors made by {runs} real runs", file=out, flush=True)
    return made


def _tasks_by_group(state_file: str) -> dict[int, list[int]]:
    from b24mirror.state import read_state

    state = read_state(state_file)
    return {gid: [int(t) for t in g.tasks] for gid, g in state.groups().items()}


def bench_history(out, points=POINTS) -> list[str]:
    """Print the history table; return the targets missed."""
    handle = PortalHandle(SHAPE)
    missed: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="b24bench-history-") as tmp:
            config = make_config(handle, Path(tmp))

            def run(prepare=None, max_posts=None) -> dict:
                handle.clock.advance(CRON_PERIOD)
                if prepare:
                    prepare()
                handle.ask("reset")
                got = _child(_run_in_child, config, handle.cell, max_posts)
                got["requests"] = handle.ask("stats")["requests"]
                got["state"] = _state_bytes(config.state_file)
                for error in got["errors"]:
                    print(f"   ! {error}", file=out)
                return got

            run()  # the first sync: learns the tree
            tasks = _tasks_by_group(config.state_file)
            print(f"history: {SHAPE.label}; up to {REAL_UP_TO:,} mirrors made by real runs "
                  f"({COMMENTS_PER_RUN:,} comments a run), beyond filled through the state's API; "
                  f"then one run of each kind", file=out)
            print(f"{'mirrors':>9} {'run':<11} {'CPU s':>6} {'RSS MB':>7} {'written KB':>10} {'state MB':>9} "
                  f"{'B/mirror':>9} {'reqs':>5}", file=out)
            filled, quiet_cpu = 0, {}
            for point in points:
                filled = _make_history(handle, run, filled, min(point, REAL_UP_TO), out)
                if point > filled:
                    _child(_fill_in_child, config.state_file, tasks, filled, point)
                    filled = point
                for name, prepare in (("quiet", None), ("1% changed", lambda: handle.ask("change", 0.01))):
                    got = run(prepare)
                    per_mirror = got["state"] / point
                    print(f"{point:>9,} {name:<11} {got['cpu']:>6.2f} {got['rss_mb']:>7.1f} "
                          f"{got['written'] / 1024:>10.1f} {got['state'] / 2**20:>9.1f} {per_mirror:>9.0f} "
                          f"{got['requests']:>5}", file=out, flush=True)
                    if name == "quiet":
                        quiet_cpu[point] = got["cpu"]
                    if point == max(points):
                        if got["rss_mb"] > TARGETS["rss_mb"]:
                            missed.append(f"{name} RSS {got['rss_mb']:.0f} MB")
                        if name == "quiet" and got["written"] / 1024 > TARGETS["quiet_written_kb"]:
                            missed.append(f"quiet run wrote {got['written'] / 1024:.0f} KB")
                        if per_mirror > TARGETS["bytes_per_mirror"]:
                            missed.append(f"{per_mirror:.0f} bytes of state per mirror")
            ratio = quiet_cpu[max(points)] / max(quiet_cpu[min(points)], 1e-9)
            print(f"quiet CPU at {max(points):,} / at {min(points):,}: {ratio:.2f}x (target <= {TARGETS['cpu_ratio']}x); "
                  f"targets at {max(points):,}: RSS <= {TARGETS['rss_mb']:.0f} MB, quiet run <= "
                  f"{TARGETS['quiet_written_kb']:.0f} KB written, <= {TARGETS['bytes_per_mirror']:.0f} B/mirror",
                  file=out)
            if ratio > TARGETS["cpu_ratio"]:
                missed.append(f"quiet CPU {ratio:.2f}x")
    finally:
        handle.close()
    print("history targets met" if not missed else f"history targets missed: {'; '.join(missed)}", file=out)
    return missed
