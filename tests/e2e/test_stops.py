"""A backfill stopped anywhere is completed by the next runs, plain `sync` included: every item once.

The real command runs against the fake portal; the portal holds the answer to the post request that
carries item 30 (in the second request of posts), and the test stops the run while it waits: with a
signal, by letting the run deadline pass, or by the portal refusing that item. Nothing here guesses at
timing: the portal says when the request is held, and the answer comes only when the test says.
"""
import signal
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e

HISTORY = 60
DEADLINE = 8  # seconds; the held request is reached well before it


def _history(w) -> dict[str, int]:
    p = w.portal
    expected = {w.talk(w.design, p.add_comment(w.design, w.anna, f'history_{n:03d}')): 1
                for n in range(HISTORY)}
    expected.update({f"b24m:subtask:{w.master}:{w.design}": 1, f"b24m:subtask:{w.design}:{w.drawings}": 1})
    p.advance(60)
    return expected


def _start_stopped_run(w, run_kind: str, stop: str):
    """Start the run that will be stopped; returns the process and the fault that holds it."""
    if stop == "deadline":
        w.config_path.write_text(w.config_path.read_text().replace(
            "read_timeout: 5", f"read_timeout: 60\n  run_deadline: {DEADLINE}"))
    hold = w.portal.faults.add("hold", "batch", count=1, contains="history_030")
    args = ("sync",) if run_kind == "plain_continuation" else ("sync", "--backfill")
    if stop == "refused":
        w.portal.faults.refuse("task.commentitem.add", "history_030")
        w.portal.faults.refuse("im.message.add", "history_030")
    return w.start(*args), hold


def _stop(w, proc, hold, stop: str) -> None:
    assert hold.reached.wait(timeout=60), "the run never reached the held request"
    if stop in ("SIGINT", "SIGTERM", "SIGKILL"):
        proc.send_signal(getattr(signal, stop))
    elif stop == "deadline":
        # The run's clock started before it reached the held request: its deadline passes while it waits.
        time.sleep(DEADLINE + 0.5)
    w.portal.faults.release()
    out, err = proc.communicate(timeout=120)
    expected = {"SIGINT": 130, "SIGTERM": 143, "SIGKILL": -9}.get(stop)
    if expected is not None:
        assert proc.returncode == expected, err
    elif stop == "deadline":
        assert "run_deadline reached" in out + err, out + err
    else:
        assert w.portal.faults.refused, err
    w.portal.faults.clear()
    if stop == "deadline":
        w.write_config()


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGKILL", "deadline", "refused"])
@pytest.mark.parametrize("run_kind", ["first_sync", "after_the_first_sync", "plain_continuation"])
def test_a_stopped_backfill_is_completed_by_plain_syncs(any_world, run_kind, stop):
    w, p = any_world, any_world.portal
    expected = _history(w)
    w.write_config()
    if run_kind != "first_sync":
        w.run("sync")
        news = p.add_comment(w.design, w.boris, "news between the first sync and the backfill")
        expected[w.talk(w.design, news)] = 1
        w.run("sync")
    if run_kind == "plain_continuation":  # the backfill began under the cap; the plain sync going on is stopped
        w.run("sync", "--backfill", "--max-posts", "10")
    proc, hold = _start_stopped_run(w, run_kind, stop)
    _stop(w, proc, hold, stop)
    posted_when_stopped = len(w.mirrors())
    assert 0 < posted_when_stopped < len(expected), w.mirror_texts()
    later = p.add_comment(w.drawings, w.anna, "news after the stop")
    expected[w.talk(w.drawings, later)] = 1
    for _ in range(2):
        w.run("sync")
    assert Counter(w.mirrors()) == Counter(expected), sorted(set(expected) ^ set(w.mirrors()))
    assert w.run("audit", check=False).returncode == 0
