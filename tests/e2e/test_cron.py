"""Running it as cron and systemd do: quiet when nothing needs a person, a metrics file, signals, a dead portal."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from b24mirror.state import open_state

pytestmark = pytest.mark.e2e


def b24mirror(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "b24mirror", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def add_unreadable_chat_task(world):
    """A subtask on the new card whose chat the webhook's user is not in: a warning on every run."""
    return world.portal.add_task("Secret chat", created_by=world.anna, responsible_id=world.boris,
                                 group_id=world.group, parent_id=world.design, new_card=True)


def test_quiet_clean_runs_print_nothing_and_global_options_follow_the_command(world):
    world.run("sync")
    world.portal.add_comment(world.design, world.anna, "posted quietly")
    for args in (("sync", "-q", "--config", str(world.write_config())), ("sync", "--config", str(world.config_path), "-q")):
        world.portal.advance(30)
        result = b24mirror(*args)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert len(world.mirrors()) == 1
    loud = b24mirror("sync", "--config", str(world.config_path))
    assert loud.stderr == f"group {world.group}: nothing new\n"


def test_a_repeating_warning_is_shown_once_then_daily_and_always_in_status(world):
    world.run("sync")
    task = add_unreadable_chat_task(world)
    warning = f"group {world.group}: warning: task {task}: user {world.me} is not a participant of its chat"
    first = world.run("-q", "sync")
    assert first.stderr.startswith(warning) and first.stderr.count("\n") == 1, first.stderr
    world.portal.add_comment(task, world.anna, "still unreadable")
    again = world.run("-q", "sync")
    assert (again.stdout, again.stderr) == ("", "")
    status = json.loads(world.run("status", "--json").stdout)
    assert [n.split(";")[0] for n in status["groups"][0]["notices"]] == \
        [f"task {task}: user {world.me} is not a participant of its chat"]
    assert warning in world.run("status").stdout

    with open_state(world.state_path) as state:
        for entry in state.group(world.group).meta["notices"].values():
            entry["last_shown"] = (datetime.now(timezone.utc) - timedelta(days=1, minutes=1)).isoformat()
        state.save()
    world.portal.add_comment(task, world.anna, "a day later")
    daily = world.run("-q", "sync")
    assert daily.stderr.startswith(warning) and daily.stderr.count("\n") == 1, daily.stderr


def test_metrics_file_is_a_valid_prometheus_textfile(world):
    world.run("sync")
    for i in range(3):
        world.portal.add_comment(world.design, world.anna, f"comment {i}")
    world.write_config(max_posts=2)
    metrics = world.tmp / "textfile" / "b24mirror.prom"
    metrics.parent.mkdir()
    world.run("-q", "sync", "--metrics-file", str(metrics))
    assert not [p for p in metrics.parent.iterdir() if p != metrics]  # no temp file left behind
    assert metrics.stat().st_mode & 0o777 == 0o644  # node_exporter runs as another user
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    value = {name: {s.labels.get("group"): s.value for s in f.samples} for name, f in families.items()}
    group = str(world.group)
    assert value["b24mirror_mirrors_posted"] == {group: 2}
    assert value["b24mirror_held_back"] == {group: 1}
    assert value["b24mirror_quarantined"] == {group: 0} and value["b24mirror_repaired"] == {group: 0}
    assert value["b24mirror_group_ok"] == {group: 1}
    assert abs(value["b24mirror_last_success_timestamp_seconds"][group] - time.time()) < 60
    assert value["b24mirror_run_exit_code"] == {None: 0}
    assert value["b24mirror_http_requests"][None] >= 3 and value["b24mirror_http_503_received"] == {None: 0}
    assert 0 < value["b24mirror_run_duration_seconds"][None] < 60

    world.write_config(master_task=world.foreign)  # now the group fails: exit 1, and the file says so
    assert world.run("-q", "sync", "--metrics-file", str(metrics), check=False).returncode == 1
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    assert [s.value for s in families["b24mirror_run_exit_code"].samples] == [1]
    assert [s.value for s in families["b24mirror_group_ok"].samples] == [0]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_sync_with_its_code_and_the_next_run_goes_on(world, sig, code):
    world.run("sync")
    for i in range(60):
        world.portal.add_comment(world.design if i % 2 else world.drawings, world.anna, f"comment_{i:02d}")
    # The portal holds the answer to the second request of posts (it carries comment 55): the signal comes
    # while the run waits for it, whatever the machine's pace. No guessing at timing.
    hold = world.portal.faults.add("hold", "batch", count=1, contains="comment_55")
    proc = world.start("sync")
    assert hold.reached.wait(timeout=60), "the run never reached the held request"
    proc.send_signal(sig)
    world.portal.faults.release()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].endswith(" posted; the next run goes on"), err
    assert "Aborted" not in err and "Traceback" not in err
    world.portal.faults.clear()
    world.run("sync")
    found = world.mirrors()
    assert len(found) == 60 and len(set(found)) == 60


def test_an_unreachable_portal_exits_5_with_one_line_naming_the_fix(world, tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "dead.yaml"
    config.write_text(f"portal: {{webhook: 'http://127.0.0.1:{port}/rest/1/deadsecret/', run_deadline: 3}}\n"
                      f"state_file: {tmp_path / 'dead-state.json'}\ngroups: [{{id: 1, master_task: 2}}]\n")
    result = b24mirror("-q", "sync", "--config", str(config))
    assert result.returncode == 5, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"b24mirror: the portal did not answer at http://127.0.0.1:{port}/rest/1/***/")
    assert "portal.webhook" in lines[0] and "b24mirror check" in lines[0]
    assert "deadsecret" not in result.stderr and "HTTPConnectionPool" not in result.stderr
    as_json = b24mirror("sync", "--json", "--config", str(config))
    assert json.loads(as_json.stdout)["error"]["code"] == "portal" and as_json.returncode == 5


def test_status_json_on_a_corrupt_state_is_a_json_error_exit_4(world):
    world.run("sync")
    world.state_path.write_text("{ not json")
    result = world.run("status", "--json", check=False)
    assert result.returncode == 4
    document = json.loads(result.stdout)
    assert document["schema"] == 1 and set(document) == {"schema", "error"}
    assert document["error"]["code"] == "state" and "--rebuild-state" in document["error"]["fix"]


def test_every_json_output_carries_the_schema(world):
    world.run("sync")
    for args in (("sync", "--json"), ("audit", "--json"), ("status", "--json"), ("sync", "--json", "--dry-run")):
        assert json.loads(world.run(*args).stdout)["schema"] == 1, args


def check_with(world, tmp_path, state_file, run_deadline):
    config = tmp_path / "check.yaml"
    config.write_text(f"portal: {{webhook: '{world.server.webhook_url(world.me, world.secret)}', "
                      f"run_deadline: {run_deadline}}}\n"
                      f"state_file: {state_file}\ngroups: [{{id: {world.group}, master_task: {world.master}}}]\n")
    return b24mirror("check", "--config", str(config))


def test_check_tries_the_state_folder_and_leaves_nothing_behind(world, tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    ok = check_with(world, tmp_path, folder / "state.json", 240)
    assert ok.returncode == 0, ok.stdout
    assert f"[ok]      state folder {folder}: writable" in ok.stdout
    assert "[ok]      portal.run_deadline: 240s fits a five-minute cron period" in ok.stdout
    assert list(folder.iterdir()) == []
    # /sys refuses new files even to root: a folder the state cannot be written to.
    bad = check_with(world, tmp_path, "/sys/kernel/b24mirror-state.json", 240)
    assert bad.returncode == 1
    assert "[BLOCKER] state folder /sys/kernel: cannot create a file there (Permission denied)" in bad.stdout
    assert "fix: make /sys/kernel writable by the user running b24mirror" in bad.stdout
    missing = check_with(world, tmp_path, tmp_path / "nowhere" / "state.json", 240)
    assert missing.returncode == 1 and f"fix: create it for the user running b24mirror: mkdir -p {tmp_path / 'nowhere'}" \
        in missing.stdout


def test_check_blocks_a_run_deadline_longer_than_the_cron_period_allows(world, tmp_path):
    assert check_with(world, tmp_path, tmp_path / "s.json", 270).returncode == 0
    long = check_with(world, tmp_path, tmp_path / "s.json", 271)
    assert long.returncode == 1
    assert "[BLOCKER] portal.run_deadline: 271s does not fit a five-minute cron period" in long.stdout
    assert "fix: set portal.run_deadline to 270 or less" in long.stdout
