"""The state file: round trip, 0600, atomic replace, the lock, corrupt input, the secret."""
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from b24mirror.policy.models import Marker
from b24mirror.state import (
    SCHEMA_VERSION,
    GroupState,
    State,
    StateCorrupt,
    StateError,
    StateLocked,
    StateTooNew,
    open_state,
    read_state,
    rebuild_empty,
)

REPO = Path(__file__).resolve().parents[1]
MARKER = Marker("comment", 501, 9001)
SECRET = "k3y5ecr3tvalue"


def on_disk(path):
    """What a fresh reader finds in the file: the last commit, as one document."""
    return read_state(path).to_dict()


def run_child(code: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kwargs,
    )


# --- round trip and format -------------------------------------------------------------

def test_missing_file_is_a_fresh_empty_state(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path) as state:
        assert state.groups() == {}
        assert state.path == path
    assert on_disk(path) == {"version": SCHEMA_VERSION, "groups": {}}


def test_round_trip_keeps_every_field(tmp_path):
    path = tmp_path / "state.json"
    snapshot = {"parent": 1001, "activity": None, "changed": "2024-05-01T10:00:00+03:00", "comments": 3,
                "last_comment_id": 77, "last_message_id": 0, "announced": True}
    with open_state(path) as state:
        group = state.group(42)
        group.baseline = "2024-05-01T00:00:00+03:00"
        group.runs = 7
        group.tasks["501"] = snapshot
        group.meta.update({"master_chat_id": 88, "master_world": "chat"})
        group.record_post(MARKER, 123, "2024-05-02T09:00:00+03:00")
        group.record_post("b24m:event:501:3", None, "2024-05-02T09:01:00+03:00")
        group.mark_success("2024-05-02T09:02:00+03:00", "2024-05-02T09:00:30+03:00")
        state.group(7).mark_error("2024-05-02T09:02:00+03:00", "portal said no")
        state.save()

    with open_state(path) as state:
        assert sorted(state.groups()) == [7, 42]
        group = state.group(42)
        assert group.group_id == 42
        assert group.baseline == "2024-05-01T00:00:00+03:00"
        assert group.cursor == "2024-05-02T09:00:30+03:00"
        assert group.runs == 7
        assert group.last_success == "2024-05-02T09:02:00+03:00"
        assert group.last_error is None
        assert group.tasks == {"501": snapshot}
        assert group.meta == {"master_chat_id": 88, "master_world": "chat"}
        assert group.has(MARKER) and group.has(str(MARKER)) and group.has("b24m:event:501:3")
        assert not group.has("b24m:comment:501:9002")
        assert group.ledger[str(MARKER)] == {"id": 123, "posted_at": "2024-05-02T09:00:00+03:00"}
        assert group.ledger["b24m:event:501:3"]["id"] is None
        assert state.group(7).last_error == {"at": "2024-05-02T09:02:00+03:00", "message": "portal said no"}
        assert state.to_dict()["version"] == SCHEMA_VERSION == 3
    assert on_disk(path)["version"] == 3
    assert set(on_disk(path)["groups"]) == {"7", "42"}


def test_mark_success_without_cursor_keeps_the_old_one_and_clears_the_error():
    group = GroupState(5, cursor="2024-01-01T00:00:00+00:00")
    group.mark_error("2024-01-02T00:00:00+00:00", "boom")
    group.mark_success("2024-01-03T00:00:00+00:00", None)
    assert group.cursor == "2024-01-01T00:00:00+00:00"
    assert group.last_error is None
    assert group.runs == 0  # the sync layer counts runs


def test_forget_drops_a_marker(tmp_path):
    with open_state(tmp_path / "s.json") as state:
        group = state.group(1)
        group.record_post(MARKER, 1, "2024-01-01T00:00:00Z")
        group.forget(MARKER)
        group.forget("b24m:comment:1:1")  # unknown: no error
        assert not group.has(MARKER)
        state.save()
    assert on_disk(tmp_path / "s.json")["groups"]["1"]["ledger"] == {}


def test_a_malformed_marker_is_refused(tmp_path):
    with open_state(tmp_path / "s.json") as state:
        with pytest.raises(ValueError):
            state.group(1).has("b24m:comment:x:1")
        with pytest.raises(ValueError):
            state.group(1).record_post("comment 5", 1, "2024-01-01T00:00:00Z")
        with pytest.raises(ValueError):
            state.group(0)


def test_record_post_is_on_disk_immediately(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path) as state:
        state.group(42).record_post(MARKER, 555, "2024-05-02T09:00:00+03:00")
        # Read the file behind the State's back, while the run is still going.
        assert on_disk(path)["groups"]["42"]["ledger"][str(MARKER)] == {
            "id": 555, "posted_at": "2024-05-02T09:00:00+03:00"}
        assert read_state(path).group(42).has(MARKER)
        state.group(42).record_post(Marker("event", 501, 2), None, "2024-05-02T09:00:01+03:00")
        assert len(on_disk(path)["groups"]["42"]["ledger"]) == 2


def test_save_refuses_what_it_could_not_read_back(tmp_path):
    path = tmp_path / "s.json"
    with open_state(path) as state:
        with pytest.raises(ValueError, match="tasks"):
            state.group(1).tasks[501] = {"comments": 1}  # an int key would come back as "501"
        state.group(1).tasks["501"] = {"comments": float("nan")}
        with pytest.raises(ValueError, match="tasks"):
            state.save()
    assert on_disk(path)["groups"] == {}


# --- file mode and atomicity -------------------------------------------------------------

def test_state_and_lock_files_are_0600(tmp_path):
    path = tmp_path / "state.json"
    old_umask = os.umask(0o022)
    try:
        with open_state(path) as state:
            state.group(1).record_post(MARKER, 1, "2024-01-01T00:00:00Z")
            logs = [p for p in tmp_path.iterdir() if p.name.endswith(("-wal", "-shm"))]
            assert len(logs) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in logs)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state.json.lock").stat().st_mode) == 0o600


def test_save_makes_a_world_readable_file_0600_again(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "groups": {}}))
    path.chmod(0o644)
    with open_state(path) as state:
        state.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # the database itself, made readable by hand
    with open_state(path) as state:
        state.group(1).runs = 1
        state.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_save_refused_half_way_writes_none_of_it(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path) as state:
        state.group(42).record_post(MARKER, 1, "2024-01-01T00:00:00Z")
        before = on_disk(path)
        state.group(42).runs = 5
        state.group(42).ledger[str(Marker("comment", 501, 2))] = {"id": 2, "posted_at": "x"}
        state.group(43).tasks["7"] = {"bad": float("inf")}  # the last group's row is refused
        with pytest.raises(ValueError):
            state.save()
    assert on_disk(path) == before


# --- the lock ------------------------------------------------------------------------------

def test_a_second_open_in_the_same_process_is_refused_at_once(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path):
        with pytest.raises(StateLocked) as excinfo:
            with open_state(path):
                pass  # pragma: no cover
    message = str(excinfo.value)
    assert str(tmp_path / "state.json.lock") in message
    assert "another b24mirror run is in progress" in message
    with open_state(path):  # released on exit
        pass


def test_a_second_run_in_another_process_fails_at_once(tmp_path):
    path = tmp_path / "state.json"
    child_code = f"""
        import sys, time
        from b24mirror.state import open_state, StateLocked
        start = time.monotonic()
        try:
            with open_state({str(path)!r}):
                print("GOT THE LOCK")
        except StateLocked as exc:
            print("LOCKED", round(time.monotonic() - start, 2))
            print(exc)
    """
    with open_state(path):
        child = run_child(child_code)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    first, message = out.splitlines()[:2]
    assert first.startswith("LOCKED"), out
    assert float(first.split()[1]) < 1.0  # did not wait for the lock
    assert "state.json.lock" in message and str(os.getpid()) in message


def hold_lock_in_child(path):
    """A second process that takes the state's lock and holds it until its stdin closes."""
    child = run_child(f"""
        import sys
        from b24mirror.state import open_state
        with open_state({str(path)!r}):
            print("holding", flush=True)
            sys.stdin.read()
    """)
    assert child.stdout.readline().strip() == "holding"
    return child


def test_the_lock_goes_with_its_process_even_when_it_is_killed(tmp_path):
    path = tmp_path / "state.json"
    child = hold_lock_in_child(path)
    try:
        with pytest.raises(StateLocked, match=str(child.pid)):
            with open_state(path):
                pass  # pragma: no cover
        child.kill()
        child.wait(timeout=30)
        with open_state(path) as state:  # no stale lock left behind
            state.group(1).runs = 1
            state.save()
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def test_the_lock_is_released_when_the_body_raises_or_the_file_is_corrupt(tmp_path):
    path = tmp_path / "state.json"
    with pytest.raises(RuntimeError):
        with open_state(path):
            raise RuntimeError("sync failed")
    path.write_text("nonsense")
    with pytest.raises(StateCorrupt):
        with open_state(path):
            pass  # pragma: no cover
    path.unlink()
    with open_state(path):
        pass


def test_lock_false_does_not_take_the_lock(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path):
        with open_state(path, lock=False) as state:
            assert state.groups() == {}
        assert read_state(path).groups() == {}


def test_read_state_cannot_be_saved(tmp_path):
    state = read_state(tmp_path / "state.json")
    with pytest.raises(StateError):
        state.save()
    assert not (tmp_path / "state.json").exists()


# --- corrupt and future files -------------------------------------------------------------

CORRUPT = {
    "garbage bytes": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
    "a list": b"[]",
    "groups not an object": b'{"version": 1, "groups": "x"}',
    "truncated": b'{"version": 1, "groups": {"42": {"ledger": {"b24m:comment:5:7": {"id": 1, "pos',
    "zero bytes": b"",
    "no version": b'{"groups": {}}',
    "version a string": b'{"version": "1", "groups": {}}',
    "ledger id a string": b'{"version": 1, "groups": {"42": {"ledger": {"b24m:comment:5:7": {"id": "1", "posted_at": "x"}}}}}',
    "ledger key not a marker": b'{"version": 1, "groups": {"42": {"ledger": {"comment 5": {"id": 1, "posted_at": "x"}}}}}',
    "runs negative": b'{"version": 1, "groups": {"42": {"runs": -1}}}',
    "task snapshot a list": b'{"version": 1, "groups": {"42": {"tasks": {"5": []}}}}',
    "group id not a number": b'{"version": 1, "groups": {"abc": {}}}',
    "NaN": b'{"version": 1, "groups": {"42": {"meta": {"x": NaN}}}}',
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_file_stops_the_run_with_the_fix(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(StateCorrupt) as excinfo:
        with open_state(path):
            pass  # pragma: no cover
    assert type(excinfo.value) is StateCorrupt
    message = str(excinfo.value)
    assert str(path) in message
    assert "b24mirror sync --rebuild-state" in message
    assert "move it away" in message
    with pytest.raises(StateCorrupt):
        read_state(path)
    assert path.read_bytes() == content  # left as it was


def test_the_corrupt_message_says_what_is_wrong(tmp_path):
    path = tmp_path / "state.json"
    cases = {b"": "empty", b"[]": "top level is a list", b'{"version": 1, "groups": "x"}': '"groups" is a string',
             b'{"version": 1, "gr': "not valid JSON", b"\xff\xfe\x00": "neither a b24mirror database nor UTF-8"}
    for content, words in cases.items():
        path.write_bytes(content)
        with pytest.raises(StateCorrupt, match=words):
            read_state(path)


def test_a_file_from_a_newer_version_asks_for_an_upgrade(tmp_path):
    path = tmp_path / "state.json"
    content = json.dumps({"version": SCHEMA_VERSION + 1, "groups": {"42": {"new": "shape"}}})
    path.write_text(content)
    with pytest.raises(StateTooNew) as excinfo:
        with open_state(path):
            pass  # pragma: no cover
    assert isinstance(excinfo.value, StateCorrupt)
    assert str(path) in str(excinfo.value)
    assert "upgrade b24mirror" in str(excinfo.value).lower()
    assert path.read_text() == content


def test_rebuild_empty_moves_the_corrupt_file_aside(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(b"{garbage")
    moved = rebuild_empty(path)
    assert moved is not None and moved.name.startswith("state.json.corrupt-")
    assert moved.read_bytes() == b"{garbage"
    assert not path.exists()
    with open_state(path) as state:
        assert state.groups() == {}
        state.group(1).record_post(MARKER, 1, "2024-01-01T00:00:00Z")
    path.write_bytes(b"again")
    second = rebuild_empty(path)
    assert second != moved and second.read_bytes() == b"again" and moved.exists()
    assert rebuild_empty(path) is None  # nothing left to move


def test_rebuild_empty_respects_another_runs_lock(tmp_path):
    path = tmp_path / "state.json"
    child = hold_lock_in_child(path)
    try:
        path.write_bytes(b"x")
        with pytest.raises(StateLocked):
            rebuild_empty(path)
        assert path.read_bytes() == b"x"
    finally:
        child.kill()
        child.communicate()


def test_rebuild_empty_under_this_process_own_lock(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path) as state:
        path.write_bytes(b"x")  # as if it went bad under us
        moved = rebuild_empty(path)
        assert moved.read_bytes() == b"x" and not path.exists()
    assert moved.read_bytes() == b"x" and not path.exists()


# --- the secret and dry runs --------------------------------------------------------------

def test_the_webhook_secret_is_never_written(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path, secret=SECRET) as state:
        group = state.group(42)
        group.record_post(MARKER, 1, "2024-01-01T00:00:00Z")
        before = on_disk(path)
        group.meta["webhook"] = f"https://x.bitrix24.ru/rest/1/{SECRET}/"
        with pytest.raises(ValueError) as excinfo:
            state.save()
        assert SECRET not in str(excinfo.value)
        assert "groups.42.meta.webhook" in str(excinfo.value)
        del group.meta["webhook"]
        group.tasks["501"] = {"note": f"x{SECRET}x"}
        with pytest.raises(ValueError):
            group.record_post(Marker("comment", 501, 2), 2, "2024-01-01T00:01:00Z")
        del group.tasks["501"]
        group.meta[f"key-{SECRET}"] = 1
        with pytest.raises(ValueError):
            state.save()
    assert on_disk(path) == before
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_an_error_message_quoting_the_webhook_is_masked(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path, secret=SECRET) as state:
        state.group(42).mark_error("2024-01-01T00:00:00Z", f"GET https://x.bitrix24.ru/rest/1/{SECRET}/task.get: 503")
        state.save()
    text = json.dumps(on_disk(path))
    assert SECRET not in text
    assert "/rest/1/***/task.get: 503" in text


def test_dry_run_writes_nothing(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path, dry_run=True) as state:
        state.group(42).record_post(MARKER, 1, "2024-01-01T00:00:00Z")
        assert state.group(42).has(MARKER)  # remembered for the rest of the run
        state.save()
    assert list(tmp_path.iterdir()) == []

    with open_state(path) as state:
        state.group(42).runs = 3
        state.save()
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    with open_state(path, dry_run=True) as state:
        assert state.group(42).runs == 3
        state.group(42).record_post(MARKER, 1, "2024-01-01T00:00:00Z")
        state.group(42).mark_success("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
        state.save()
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


def test_a_state_built_by_hand_lives_in_memory_only(tmp_path):
    state = State(tmp_path / "mem.json")
    state.group(3).record_post(MARKER, 9, "2024-01-01T00:00:00Z")
    assert state.to_dict()["groups"]["3"]["ledger"][str(MARKER)]["id"] == 9
    assert list(tmp_path.iterdir()) == []


def test_record_posts_writes_once_and_is_on_disk(tmp_path):
    path = tmp_path / "state.json"
    with open_state(path) as state:
        group = state.group(42)
        group.record_posts([("b24m:comment:1:2", 10, "2026-01-01T00:00:00+00:00"),
                            ("b24m:event:1:3", 11, "2026-01-01T00:00:00+00:00")])
        assert set(on_disk(path)["groups"]["42"]["ledger"]) == {"b24m:comment:1:2", "b24m:event:1:3"}
        assert group.has("b24m:event:1:3")


def test_every_kind_of_mirror_has_a_code_in_the_ledger_table():
    """A kind the policy adds (results came after the table) must be storable, or its first post fails."""
    from b24mirror.policy import models
    from b24mirror.state.store import KIND_CODES

    kinds = {value for name, value in vars(models).items() if name.startswith("KIND_") and isinstance(value, str)}
    assert kinds <= set(KIND_CODES), kinds - set(KIND_CODES)


def test_a_database_of_the_version_before_message_markers_is_stamped_current_when_opened_to_write(tmp_path):
    """3 adds the ledger kind `message`: a state of 2 is read as it is, and marked 3 once a run opens it to
    write, so that a build that knows only 2 refuses it (too new) instead of misreading its message rows."""
    import sqlite3
    path = tmp_path / "state.db"
    with open_state(path) as state:
        state.group(42).record_post(MARKER, 7, "2026-01-01T00:00:00Z")
        state.save()
    db = sqlite3.connect(path)
    db.executescript("PRAGMA user_version = 2; UPDATE info SET value = '2' WHERE key = 'version';")
    db.close()

    def stamped():
        conn = sqlite3.connect(path)
        try:
            return (conn.execute("PRAGMA user_version").fetchone()[0],
                    conn.execute("SELECT value FROM info WHERE key = 'version'").fetchone()[0])
        finally:
            conn.close()

    assert read_state(path).group(42).has(MARKER)
    assert stamped() == (2, "2")  # a read-only open writes nothing
    with open_state(path) as state:
        assert state.group(42).ledger[str(MARKER)]["id"] == 7
        state.group(42).record_post(Marker("message", 501, 9001), 8, "2026-01-02T00:00:00Z")
        state.save()
    assert stamped() == (SCHEMA_VERSION, str(SCHEMA_VERSION)) == (3, "3")
    assert on_disk(path)["groups"]["42"]["ledger"].keys() == {str(MARKER), "b24m:message:501:9001"}
