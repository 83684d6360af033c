"""The README's install steps, cron line and systemd ExecStart, run as written: only the paths, the
portal's URL and the service user are swapped for the test's.

The install runs as root would run it (`init` writes the config, ownership goes to the service user);
cron and the unit then run as that unprivileged user, with cron's bare environment (PATH=/usr/bin:/bin,
no PYTHONPATH, no virtualenv). As root the service user is `nobody`; otherwise the test's own user
stands in for it (ownership cannot be handed away, but every command still runs as written).
"""
import grp
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
VENV_BIN = "/opt/b24mirror/.venv/bin/b24mirror"
CONFIG = "/etc/b24mirror/b24mirror.yaml"
ETC_DIR = "/etc/b24mirror"
STATE_DIR = "/var/lib/b24mirror"
SERVICE_USER = "b24mirror"  # the name the README gives the service user
PLACEHOLDER_WEBHOOK = "https://YOUR.bitrix24.ru/rest/USER_ID/SECRET/"
AS_ROOT = os.geteuid() == 0


def recipe(name: str) -> str:
    """The code block that follows `<!-- recipe: NAME -->` in the README."""
    match = re.search(rf"<!-- recipe: {re.escape(name)} -->\s*```\w*\n(.*?)```", README.read_text(), re.S)
    assert match, f"README.md has no recipe {name!r}"
    return match.group(1)


def service_account() -> tuple[str, str]:
    if AS_ROOT:
        return "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


def as_service_user(argv: list[str]) -> list[str]:
    """What `User=b24mirror`, cron's user field and `runuser -u b24mirror` do: drop to the service user."""
    user, group = service_account()
    if not AS_ROOT:
        return argv
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", "--", *argv]


def interpreter() -> str:
    """This Python, or the system's of the same version when this one sits where the service user cannot go
    (a pyenv under /root): the service user must be able to run the command at all."""
    if not AS_ROOT or all(p.stat().st_mode & 0o001 for p in Path(sys.executable).resolve().parents):
        return sys.executable
    same = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/local/bin:/usr/bin")
    assert same, "no Python the service user may run; install the system's python3 of this version"
    return same


def bare_env():
    return {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "SHELL": "/bin/sh"}


@pytest.fixture
def installed(world):
    """The README's install recipe, run line by line under a test root the service user can traverse."""
    root = Path(tempfile.mkdtemp(prefix="b24mirror-recipe-"))
    root.chmod(0o755)
    venv_bin = root / "opt" / "venv" / "bin" / "b24mirror"
    venv_bin.parent.mkdir(parents=True)
    source = Path(__file__).resolve().parents[2]
    # The console script pip would write, bound to this source tree and its packages.
    python_path = ":".join((str(source), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]))
    venv_bin.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(python_path)} exec {shlex.quote(interpreter())} "
                        f"-m b24mirror \"$@\"\n")
    venv_bin.chmod(0o755)
    (root / "var" / "lib").mkdir(parents=True)
    (root / "etc").mkdir()
    paths = {VENV_BIN: str(venv_bin), ETC_DIR: str(root / "etc" / "b24mirror"),
             STATE_DIR: str(root / "var" / "lib" / "b24mirror"),
             PLACEHOLDER_WEBHOOK: world.server.webhook_url(world.me, world.secret),
             "--group 42:1001": f"--group {world.group}:{world.master}"}
    lines = recipe("install").strip().splitlines()
    assert lines[0].startswith("useradd --system") and lines[0].endswith(f" {SERVICE_USER}")
    assert lines[1].startswith("python3 -m venv /opt/b24mirror/.venv")  # the test's venv stands in for these two
    for line in lines[2:]:
        argv = run_as_written(line, paths)
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
    try:
        yield paths
    finally:
        shutil.rmtree(root)


def run_as_written(line: str, paths: dict) -> list[str]:
    """A README command with the test's paths and service user; `runuser -u b24mirror --` drops to it."""
    user, group = service_account()
    for readme_path, test_path in paths.items():
        line = line.replace(readme_path, test_path)
    words = shlex.split(line)
    argv = [(group if before == "-g" else user) if arg == SERVICE_USER
            else f"{user}:{group}" if arg == f"{SERVICE_USER}:{SERVICE_USER}" else arg
            for before, arg in zip([""] + words, words)]
    if argv[0] == "install" and not AS_ROOT:  # only root may hand a folder to a user; the folder is the same
        argv = [a for i, a in enumerate(argv) if a not in ("-o", "-g") and argv[i - 1] not in ("-o", "-g")]
    if argv[:2] == ["chown", f"{user}:{group}"] and not AS_ROOT:
        argv = ["true"]
    if argv[:3] == ["runuser", "-u", user]:
        argv = as_service_user(argv[4:])
    return argv


def test_the_install_leaves_a_config_only_the_service_user_reads(world, installed):
    config = Path(installed[ETC_DIR]) / Path(CONFIG).name
    user, _ = service_account()
    assert oct(config.stat().st_mode & 0o777) == "0o600"  # as init wrote it
    assert pwd.getpwuid(config.stat().st_uid).pw_name == user
    assert pwd.getpwuid(Path(installed[STATE_DIR]).stat().st_uid).pw_name == user
    assert f"state_file: \"{installed[STATE_DIR]}/state.json\"" in config.read_text()


def test_the_readme_cron_line_runs_as_written(world, installed):
    line = recipe("cron").strip()
    assert len(line.splitlines()) == 1
    fields = line.split(None, 6)
    assert fields[5] == SERVICE_USER  # /etc/cron.d names the user the line runs as
    command = fields[6]  # cron hands the rest to /bin/sh
    assert command.startswith("flock ")
    for readme_path, test_path in installed.items():
        command = command.replace(readme_path, test_path)
    etc_before = sorted(os.listdir(installed[ETC_DIR]))

    def cron():
        world.portal.advance(30)
        argv = as_service_user(["env", "-i", *(f"{k}={v}" for k, v in bare_env().items()), "/bin/sh", "-c", command])
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    first = cron()  # the first sync records the baseline
    assert first.returncode == 0, first.stderr
    c = world.portal.add_comment(world.design, world.anna, "from cron")
    result = cron()
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert f"b24m:comment:{world.design}:{c}" in world.mirrors()
    assert (Path(installed[STATE_DIR]) / "state.json").exists()
    assert sorted(os.listdir(installed[ETC_DIR])) == etc_before  # nothing written next to the config


def test_the_readme_systemd_unit_uses_its_state_directory_and_runs_its_exec_start(world, installed):
    unit = recipe("systemd-service")
    assert "StateDirectory=b24mirror" in unit and f"User={SERVICE_USER}" in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    argv = run_as_written(exec_start, installed)  # systemd splits, no shell
    assert argv[0] == installed[VENV_BIN]
    world.portal.advance(30)
    result = subprocess.run(as_service_user(["env", "-i", *(f"{k}={v}" for k, v in bare_env().items()), *argv]),
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (Path(installed[STATE_DIR]) / "b24mirror.prom").read_text().count("b24mirror_run_exit_code 0") == 1
