"""The state database under real runs: upgrade from JSON, a kill inside a transaction, two runs at once,
a torn file, and a sweep whose cost follows the tasks it reads, not the history."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from b24mirror.app import make_client
from b24mirror.config.load import load_config
from b24mirror.portal import Portal
from b24mirror.state import SCHEMA_VERSION, backup_path, open_state, read_state
from b24mirror.sync.engine import Syncer
from b24mirror.sync.records import SyncOptions

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "state-v1.json"
REPO = Path(__file__).resolve().parents[2]


def _counts(world) -> Counter:
    return Counter(world.mirrors())


# --- the JSON state of the release before ----------------------------------------------------------

def test_the_fixture_migrates_losslessly_and_stays_beside_as_a_backup(tmp_path):
    path = tmp_path / "state.json"
    shutil.copy(FIXTURE, path)
    document = json.loads(FIXTURE.read_text())
    with open_state(path) as state:
        migrated = state.to_dict()
    assert migrated.pop("version") == SCHEMA_VERSION and document.pop("version") == 1
    assert migrated == document  # every group field, ledger flag, snapshot and meta record
    assert backup_path(path).read_bytes() == FIXTURE.read_bytes()
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ledger = read_state(path).group(42).ledger
    assert ledger["b24m:comment:502:9100"] == {"id": 70005, "posted_at": "2026-11-03T11:00:00+03:00", "digest": True}
    assert ledger.markers_of(501, "comment") == ["b24m:comment:501:9001", "b24m:comment:501:9002"]
    assert len(ledger) == 6


def test_a_migration_cut_short_is_made_again_from_the_json_left_in_place(tmp_path):
    path = tmp_path / "state.json"
    shutil.copy(FIXTURE, path)
    building = tmp_path / ".state.json.migrating"  # a crash before the rename left half a database
    building.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    Path(f"{building}-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)
    with open_state(path) as state:
        assert state.group(42).ledger.stored_size == 6 and state.group(42).meta["pending"] == [503]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.lock", "state.json.v1.json"]


def test_an_upgrade_from_a_json_state_posts_nothing_twice(world):
    p = world.portal
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "before the upgrade")
    world.run("sync")
    old = read_state(world.state_path).to_dict()
    old["version"] = 1  # what the release before wrote, where the config points
    for side in (world.state_path, Path(f"{world.state_path}-wal"), Path(f"{world.state_path}-shm")):
        side.unlink(missing_ok=True)
    world.state_path.write_text(json.dumps(old))
    c2 = p.add_comment(world.design, world.boris, "after the upgrade")
    world.run("sync")
    assert _counts(world) == Counter({f"b24m:comment:{world.design}:{c1}": 1, f"b24m:comment:{world.design}:{c2}": 1})
    assert json.loads(backup_path(world.state_path).read_text()) == old
    assert read_state(world.state_path).group(world.group).runs == old["groups"][str(world.group)]["runs"] + 1


# --- a kill inside a transaction -------------------------------------------------------------------

KILLED_INSIDE = """
    import sys, time
    from b24mirror.state.tables import Ledger
    write, rows = Ledger.write, []
    def stuck(self, conn, key, row):  # two rows of a request's posts written, the commit not yet made
        write(self, conn, key, row)
        rows.append(key)
        if len(rows) == 2:
            print("inside", flush=True)
            time.sleep(600)
    Ledger.write = stuck
    from b24mirror.cli import main
    sys.argv = ["b24mirror", "--config", sys.argv[1], "sync"]
    main()
"""


def test_sigkill_inside_a_transaction_leaves_the_last_commit_and_the_next_run_goes_on(world):
    world.run("sync")
    before = read_state(world.state_path).to_dict()
    made = [world.portal.add_comment(world.design, world.anna, f"comment {i}") for i in range(3)]
    world.write_config()
    world.portal.advance(30)
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED_INSIDE), str(world.config_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "inside\n", child.stderr.read()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=30)
    assert len(world.mirrors()) == 3  # the portal took the posts; the ledger's transaction never committed
    assert read_state(world.state_path).to_dict() == before  # none of it, not part of it
    world.run("sync")  # reads the master back: the three are recorded, none posted again
    assert _counts(world) == Counter({f"b24m:comment:{world.design}:{c}": 1 for c in made})
    assert len(read_state(world.state_path).group(world.group).ledger) == 3


# --- two runs at once, and readers during a run ----------------------------------------------------

def test_a_second_run_is_refused_while_status_and_audit_read_on(world):
    world.run("sync")
    world.portal.add_comment(world.design, world.anna, "hello")
    world.run("sync")
    with open_state(world.state_path) as state:  # another run holds the lock, in the middle of a write
        state._conn.execute("BEGIN IMMEDIATE")
        state._conn.execute("UPDATE groups SET body = body")
        second = world.run("sync", check=False)
        status = world.run("status", "--json", check=False)
        audit = world.run("audit", "--json", check=False)
        state._conn.execute("ROLLBACK")
    assert second.returncode == 3 and "another b24mirror run is in progress" in second.stderr
    assert status.returncode == 0 and json.loads(status.stdout)["groups"][0]["mirrors"] == 1
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert len(world.mirrors()) == 1


# --- a torn database -------------------------------------------------------------------------------

def test_a_corrupt_database_exits_4_naming_the_fix_and_the_rebuild_loses_nothing(world):
    world.run("sync")
    c1 = world.portal.add_comment(world.design, world.anna, "first")
    world.run("sync")
    data = bytearray(world.state_path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the first torn
    world.state_path.write_bytes(bytes(data))
    c2 = world.portal.add_comment(world.design, world.anna, "second")
    refused = world.run("sync", check=False)
    assert refused.returncode == 4, refused.stderr
    assert "corrupt" in refused.stderr and "b24mirror sync --rebuild-state" in refused.stderr
    assert len(world.mirrors()) == 1
    world.run("sync", "--rebuild-state")
    assert _counts(world) == Counter({f"b24m:comment:{world.design}:{c1}": 1, f"b24m:comment:{world.design}:{c2}": 1})
    assert list(world.tmp.glob("state.json.corrupt-*"))


def test_check_reads_every_page_a_torn_one_exits_4_naming_the_rebuild(world):
    world.run("sync")
    with open_state(world.state_path) as state:  # enough rows that a page far from those a run opens first exists
        state.group(world.group).record_posts([(f"b24m:comment:{900000 + n // 50}:{n}", n + 1,
                                                "2026-01-01T00:00:00+00:00") for n in range(3000)])
    whole = world.run("check", check=False)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert f"state file {world.state_path}: whole" in whole.stdout
    data = bytearray(world.state_path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[-page + 8:] = b"\xa5" * (page - 8)  # the last page torn past its header: no run has read it yet
    world.state_path.write_bytes(bytes(data))
    read_state(world.state_path).close()  # a run's own opening check does not see it
    torn = world.run("check", check=False)
    assert torn.returncode == 4, torn.stdout + torn.stderr
    assert f"state file {world.state_path}: is corrupt" in torn.stdout
    assert "b24mirror sync --rebuild-state" in torn.stdout


# --- the sweep's cost ------------------------------------------------------------------------------

def _sweep_reads(world, history: int) -> int:
    """Ledger rows a sweep reads after `history` mirrors of tasks long gone were recorded."""
    with open_state(world.state_path) as state:
        group = state.group(world.group)
        for start in range(0, history, 5000):
            group.record_posts([(f"b24m:comment:{900000 + n // 50}:{n}", n + 1, "2026-01-01T00:00:00+00:00")
                                for n in range(start, min(history, start + 5000))])
    config = load_config(world.config_path)
    world.portal.advance(30)
    client = make_client(config)
    try:
        with open_state(world.state_path) as state:
            Syncer(config, Portal(client), state, SyncOptions()).run()
            return state.group(world.group).ledger.rows_read
    finally:
        client.close()


def test_a_sweep_reads_the_ledger_rows_of_the_tasks_it_reads_not_the_history(world):
    world.write_config(on_edit="update", on_delete="mark")
    world.config_path.write_text(world.config_path.read_text() + "sweep_every: 1\n")
    world.run("sync")
    for task in (world.design, world.drawings):
        for i in range(3):
            world.portal.add_comment(task, world.anna, f"note {i}")
    world.run("sync")
    small = _sweep_reads(world, 1_000)
    large = _sweep_reads(world, 20_000)  # 21,000 recorded now, on 420 other tasks
    assert 0 < small == large
