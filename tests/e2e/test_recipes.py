"""The README's cron line and systemd ExecStart, run as written: only the paths are swapped for test folders.

Cron runs with a bare environment (PATH=/usr/bin:/bin, no PYTHONPATH, no virtualenv); the config lives in
a read-only folder and the state in a writable one of its own, as the README says to set them up.
"""
import os
import re
import shlex
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
VENV_BIN = "/opt/b24mirror/.venv/bin/b24mirror"
CONFIG = "/etc/b24mirror/b24mirror.yaml"
STATE_DIR = "/var/lib/b24mirror"


def recipe(name: str) -> str:
    """The code block that follows `<!-- recipe: NAME -->` in the README."""
    match = re.search(rf"<!-- recipe: {re.escape(name)} -->\s*```\w*\n(.*?)```", README.read_text(), re.S)
    assert match, f"README.md has no recipe {name!r}"
    return match.group(1)


@pytest.fixture
def installed(world, tmp_path):
    """The README's layout under tmp_path: a venv's b24mirror, a read-only /etc folder, a state folder."""
    venv_bin = tmp_path / "opt" / "venv" / "bin" / "b24mirror"
    venv_bin.parent.mkdir(parents=True)
    root = Path(__file__).resolve().parents[2]
    # The console script pip would write, bound to this interpreter and this source tree.
    venv_bin.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(root))} exec {shlex.quote(sys.executable)} "
                        f"-m b24mirror \"$@\"\n")
    venv_bin.chmod(0o755)
    state_dir = tmp_path / "var" / "lib" / "b24mirror"
    state_dir.mkdir(parents=True)
    etc = tmp_path / "etc" / "b24mirror"
    etc.mkdir(parents=True)
    config = etc / "b24mirror.yaml"
    config.write_text(textwrap.dedent(f"""
        portal: {{webhook: "{world.server.webhook_url(world.me, world.secret)}"}}
        state_file: {STATE_DIR}/state.json
        language: en
        groups: [{{id: {world.group}, master_task: {world.master}}}]
    """).replace(STATE_DIR, str(state_dir)))
    config.chmod(0o600)
    etc.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield {VENV_BIN: str(venv_bin), CONFIG: str(config), STATE_DIR: str(state_dir)}
    etc.chmod(0o755)


def swap_paths(line: str, paths: dict) -> str:
    for readme_path, test_path in paths.items():
        line = line.replace(readme_path, test_path)
    return line


def bare_env():
    return {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "SHELL": "/bin/sh"}


def test_the_readme_cron_line_runs_as_written(world, installed):
    line = recipe("cron").strip()
    assert len(recipe("cron").strip().splitlines()) == 1
    command = line.split(None, 5)[5]  # the five schedule fields go; cron hands the rest to /bin/sh
    assert command.startswith("flock ")
    etc_before = sorted(os.listdir(Path(installed[CONFIG]).parent))

    def cron():
        world.portal.advance(30)
        return subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in bare_env().items()), "/bin/sh", "-c",
                               swap_paths(command, installed)], capture_output=True, text=True, timeout=120)

    first = cron()  # the first sync records the baseline
    assert first.returncode == 0, first.stderr
    c = world.portal.add_comment(world.design, world.anna, "from cron")
    result = cron()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert f"b24m:comment:{world.design}:{c}" in world.mirrors()
    assert (Path(installed[STATE_DIR]) / "state.json").exists()
    assert sorted(os.listdir(Path(installed[CONFIG]).parent)) == etc_before  # nothing written next to the config


def test_the_readme_systemd_unit_uses_its_state_directory_and_runs_its_exec_start(world, installed):
    unit = recipe("systemd-service")
    assert "StateDirectory=b24mirror" in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    argv = [swap_paths(arg, installed) for arg in shlex.split(exec_start)]  # systemd splits, no shell
    assert argv[0] == installed[VENV_BIN]
    world.portal.advance(30)
    result = subprocess.run(argv, env=bare_env(), capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (Path(installed[STATE_DIR]) / "b24mirror.prom").read_text().count("b24mirror_run_exit_code 0") == 1
