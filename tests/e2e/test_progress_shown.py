"""Progress while reading, as a person sees it: a backfill of a big group draws a moving bar on a terminal
before it posts; off a terminal, -v says how far a long read came, and without -v nothing is said."""
import os
import pty
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

SUBTASKS = 80  # history, results and comments of each: several requests of 50 reads


def _on_a_terminal(w, *args: str) -> str:
    """Run the real command with its stderr on a pseudo-terminal, as a person at a shell sees it."""
    w.portal.advance(30)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "b24mirror", "--config", str(w.config_path), *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closes when the command ends
            break
        if not data:
            break
        seen.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    return b"".join(seen).decode()


def test_a_backfill_of_a_big_group_shows_its_reads_moving_then_its_posts(world):
    w, p = world, world.portal
    for n in range(SUBTASKS):
        task = p.add_task(f"Part {n}", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                          parent_id=w.master, auditors=(w.me,))
        p.add_comment(task, w.anna, f"from before {n}")
    p.advance(60)
    w.write_config()
    screen = _on_a_terminal(w, "sync", "--backfill", "--max-posts", "10")
    reads = [(int(done), int(total)) for done, total in
             re.findall(r"\rreading the portal \[[#.]+\] (\d+)/(\d+) requests", screen)]
    assert reads and reads[0][1] >= 3, screen
    first_batch = reads[:reads[0][1]]
    assert [done for done, _ in first_batch] == list(range(1, reads[0][1] + 1)), screen  # it moves, one by one
    assert screen.index("reading the portal") < screen.index("posting ["), screen
    told = w.run("audit", "-v", check=False).stderr  # not a terminal: lines, not a bar
    assert re.search(r"^read (\d+)/\1 requests$", told, flags=re.M), told
    assert "\r" not in told
    quiet = w.run("audit", check=False).stderr
    assert "read " not in quiet and "reading" not in quiet, quiet
