"""The webhook secret appears nowhere b24mirror writes: not in its output, its logs at -v, its state
file, its lock file, nor in what it posts — on success, under faults, and on every failure path."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def _everything_written(world, results) -> dict[str, str]:
    found = {}
    for index, result in enumerate(results):
        found[f"run {index} {result.args[3:]} stdout"] = result.stdout
        found[f"run {index} {result.args[3:]} stderr"] = result.stderr
    for path in world.tmp.rglob("*"):
        if path.is_file() and path != world.config_path and path.name != "webhook":
            found[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for task_id in world.portal.tasks:
        for comment in world.portal.comments(task_id):
            if comment["author_id"] == world.me:
                found[f"comment {comment['id']} on task {task_id}"] = comment["text"]
    return found


def _assert_no_secret(world, results):
    written = _everything_written(world, results)
    assert any("request" in text for text in written.values()), "-v should have logged the requests"
    leaks = [where for where, text in written.items() if world.secret in text]
    assert leaks == [], leaks


def test_a_verbose_sync_under_faults_writes_the_secret_nowhere(world):
    p = world.portal
    results = [world.run("-v", "sync")]
    p.add_comment(world.design, world.anna, f"a comment quoting a link {world.server.webhook_url(world.me, 'x')}")
    p.add_comment(world.drawings, world.boris, "another")
    p.set_status(world.design, 5, by=world.anna)
    p.faults.add("500", count=2)
    p.faults.add("html", count=1)
    p.faults.add("lost_response", method="batch", contains="task.commentitem.add", count=1)
    for args in (("-v", "sync", "--dry-run"), ("-v", "sync"), ("-v", "sync", "--json"), ("-v", "status"),
                 ("-v", "status", "--json"), ("-v", "audit"), ("-v", "audit", "--json"), ("-v", "check"),
                 ("-v", "sync", "--rebuild-state")):
        results.append(world.run(*args, check=False))
    assert p.stats.faults_injected >= 3
    assert len(world.mirrors()) == 3
    _assert_no_secret(world, results)


def test_failure_paths_write_the_secret_nowhere(world):
    results = [world.run("-v", "sync")]
    world.portal.faults.add("500")  # every request fails: retries, then the group fails
    results.append(world.run("-v", "sync", check=False))
    world.portal.faults.clear()
    world.state_path.write_text("{ broken")
    results.append(world.run("-v", "sync", check=False))  # exit 4
    results.append(world.run("-v", "sync", "--rebuild-state", check=False))
    # A config with a problem elsewhere: the webhook is quoted masked, if at all.
    good = world.config_path.read_text()
    world.config_path.write_text(good + "sweep_every: -1\nbogus_key: 1\n")
    results.append(world.run("-v", "sync", check=False))
    world.config_path.write_text(good)
    # The portal refuses a webhook whose secret is wrong; the wrong one must not be printed either.
    wrong = world.secret[::-1]
    world.config_path.write_text(good.replace(world.secret, wrong))
    refused = world.run("-v", "sync", check=False)
    assert refused.returncode == 5, refused.stderr
    assert wrong not in refused.stdout + refused.stderr
    results.append(refused)
    world.config_path.write_text(good)
    assert {r.returncode for r in results} >= {0, 1, 2, 4, 5}
    _assert_no_secret(world, results)


def test_the_secret_from_the_environment_or_a_file_is_not_written_either(world):
    hook = world.server.webhook_url(world.me, world.secret)
    world.write_config()
    text = world.config_path.read_text().replace(f'webhook: "{hook}"', f'webhook_file: "{world.tmp / "webhook"}"')
    world.config_path.write_text(text)
    secret_file = world.tmp / "webhook"
    secret_file.write_text(hook + "\n")
    os.chmod(secret_file, 0o600)
    results = [world.run("-v", "sync")]
    world.portal.add_comment(world.design, world.anna, "one")
    results.append(world.run("-v", "sync"))
    # And from the environment, overriding the file.
    env = dict(os.environ, B24MIRROR_WEBHOOK=hook)
    world.portal.advance(30)
    results.append(subprocess.run([sys.executable, "-m", "b24mirror", "--config", str(world.config_path), "-v",
                                   "sync"], capture_output=True, text=True, timeout=120, env=env))
    assert results[-1].returncode == 0, results[-1].stderr
    assert len(world.mirrors()) == 1
    _assert_no_secret(world, results)
