"""What a new administrator meets first: the words of check, sync and the errors, run as the real command."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def run_with_env(world, *args, **env):
    world.portal.advance(30)
    return subprocess.run([sys.executable, "-m", "b24mirror", "--config", str(world.config_path), *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_check_counts_one_group_in_the_singular(world):
    result = world.run("check", check=False)
    assert "ok (1 group, webhook" in result.stdout, result.stdout


def test_a_dry_first_sync_records_no_baseline_and_says_so(world):
    result = world.run("sync", "--dry-run")
    assert "the baseline would be recorded by a real run" in result.stderr
    assert "baseline recorded" not in result.stderr
    assert not world.state_path.exists()


def test_an_error_names_the_environment_variable_the_webhook_came_from(world):
    world.write_config()
    wrong = world.server.webhook_url(world.me, "not-the-secret")
    result = run_with_env(world, "sync", B24MIRROR_WEBHOOK=wrong)
    assert result.returncode == 5, result.stderr
    assert "check B24MIRROR_WEBHOOK" in result.stderr and "portal.webhook" not in result.stderr
    assert "not-the-secret" not in result.stderr
    result = run_with_env(world, "check", B24MIRROR_WEBHOOK=wrong)
    assert "check B24MIRROR_WEBHOOK" in result.stdout and "portal.webhook" not in result.stdout


def test_without_a_config_the_fix_is_init(tmp_path):
    missing = tmp_path / "b24mirror.yaml"
    result = subprocess.run([sys.executable, "-m", "b24mirror", "--config", str(missing), "sync"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"b24mirror init {missing}" in result.stderr and "config.example.yaml" not in result.stderr
