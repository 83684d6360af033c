"""A post request whose answer the run deadline cuts off: the run says the outcome is unknown, not that
nothing was sent, and the next run settles it by reading the master back — each mirror once."""
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e

DEADLINE = 8  # seconds; the held request is reached well before it


def test_a_post_answer_lost_at_the_deadline_is_said_unknown_and_read_back_next_run(world):
    w, p = world, world.portal
    w.run("sync")
    said = [p.add_comment(w.design, w.anna, f"note {n} before_the_deadline") for n in range(3)]
    w.config_path.write_text(w.config_path.read_text().replace(
        "read_timeout: 5", f"read_timeout: 60\n  run_deadline: {DEADLINE}"))
    # The portal runs the posts and keeps the answer: the client gives up waiting at its deadline.
    hold = p.faults.add("hold", "batch", count=1, contains="before_the_deadline")
    proc = w.start("sync")
    assert hold.reached.wait(timeout=60), "the run never reached the held request"
    out, err = proc.communicate(timeout=120)
    p.faults.release()
    assert proc.returncode == 0, err
    assert "the answer to 3 posts was lost, so whether they landed is unknown: the next run reads the master " \
           "back before posting any again" in err, err
    assert "whether they landed is unknown until the next run reads the master back" in err, err
    assert "3 mirror(s) unposted" not in err, err
    assert len(w.mirrors()) == 3  # they had landed
    w.write_config()
    again = w.run("sync")
    assert "nothing new" in again.stderr, again.stderr
    assert Counter(w.mirrors()) == Counter(f"b24m:comment:{w.design}:{c}" for c in said)
