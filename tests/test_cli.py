"""The command-line frame: help that teaches, config errors that exit 2, no secret shown."""
import subprocess
import sys

from click.testing import CliRunner

from b24mirror.cli.commands import main


def test_every_command_has_help_with_an_example():
    for name, command in main.commands.items():
        assert command.help, f"{name} has no help"
        assert "Example" in command.help, f"{name}'s help has no example"
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("sync", "audit", "status", "check"):
        assert name in result.output
    assert "Exit codes" in result.output


def test_config_with_three_mistakes_prints_three_problems_and_exits_2(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "portal: {webhook: 'https://x.bitrix24.ru/rest/1/verysecret/'}\n"
        "groups:\n  - {id: 42, master_task: abc, depht: 2}\n  - {id: 42, master_task: 5}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "b24mirror", "--config", str(config), "status"],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(lines) == 3, result.stderr
    assert "verysecret" not in result.stderr + result.stdout


def test_config_path_from_environment(tmp_path):
    result = CliRunner().invoke(main, ["status"], env={"B24MIRROR_CONFIG": str(tmp_path / "missing.yaml")})
    assert result.exit_code == 2
    assert "missing.yaml" in result.output


def test_verbose_and_quiet_conflict():
    result = CliRunner().invoke(main, ["-v", "-q", "status"])
    assert result.exit_code == 2


def test_version():
    result = subprocess.run([sys.executable, "-m", "b24mirror", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "b24mirror, version" in result.stdout


def test_progress_bar_draws_on_long_runs_and_ends_its_line(capsys):
    from b24mirror.cli.progress import ProgressBar

    bar = ProgressBar(width=10)
    bar(42, 1, 3)  # a few posts: no bar
    assert capsys.readouterr().err == ""
    for done in range(1, 11):
        bar(42, done, 10)
    err = capsys.readouterr().err
    assert "\rgroup 42: posting [#.........] 1/10" in err
    assert err.endswith("[##########] 10/10\n")  # (click drops the erase-line code off a terminal)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_bar_tells_the_time_left_at_the_pace_so_far(capsys):
    from b24mirror.cli.progress import ProgressBar

    clock = Clock()
    bar = ProgressBar(width=10, clock=clock)
    bar(42, 0, 100)
    clock.now += 50  # 10 posts in 50 s: 90 more take 450 s
    bar(42, 10, 100)
    assert "10/100, about 7m30s left" in capsys.readouterr().err


def test_without_a_terminal_verbose_runs_say_their_progress_once_a_minute():
    from b24mirror.cli.progress import MinuteLines, progress_for

    clock, lines = Clock(), []
    progress = MinuteLines(clock=clock, echo=lines.append)
    for done in range(0, 101):
        progress(7, done, 100)
        clock.now += 2  # 200 s in all: lines at 60, 120 and 180 s, and the last
    assert lines == ["group 7: posted 30/100, about 2m20s left", "group 7: posted 60/100, about 1m20s left",
                     "group 7: posted 90/100, about 20s left", "group 7: posted 100/100"]
    assert progress_for(1, on_terminal=False).__class__ is MinuteLines
    assert progress_for(0, on_terminal=False) is None and progress_for(-1, on_terminal=True) is None


def test_a_long_read_draws_its_own_bar_with_the_time_left_and_short_ones_draw_none(capsys):
    from b24mirror.cli.progress import ProgressBar

    clock = Clock()
    bar = ProgressBar(width=10, clock=clock)
    bar.reading(1, 2)
    bar.reading(2, 2)  # two requests: over before a bar says anything
    assert capsys.readouterr().err == ""
    bar.reading(1, 8)
    clock.now += 30  # 2 requests in 30 s: 6 more take 90 s
    bar.reading(2, 8)
    bar.reading(8, 8)
    err = capsys.readouterr().err
    assert "\rreading the portal [##........] 2/8 requests, about 1m30s left" in err
    assert err.endswith("[##########] 8/8 requests\n")


def test_without_a_terminal_verbose_reads_say_how_far_they_came_once_a_minute():
    from b24mirror.cli.progress import MinuteLines

    clock, lines = Clock(), []
    progress = MinuteLines(clock=clock, echo=lines.append)
    for done in range(1, 41):
        progress.reading(done, 40)
        clock.now += 5  # 195 s from the first request: lines at 60, 120 and 180 s, and the last
    progress.reading(1, 4)  # a later read starts its own count: nothing to say yet
    assert lines == ["read 13/40 requests, about 2m04s left", "read 25/40 requests, about 1m12s left",
                     "read 37/40 requests, about 14s left", "read 40/40 requests"]


def test_corrupt_state_exits_4_with_the_fix(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{ not json")
    config = tmp_path / "c.yaml"
    config.write_text(
        "portal: {webhook: 'https://x.bitrix24.ru/rest/1/verysecret/'}\n"
        f"state_file: {state}\ngroups: [{{id: 42, master_task: 5}}]\n"
    )
    result = subprocess.run([sys.executable, "-m", "b24mirror", "--config", str(config), "status"],
                            capture_output=True, text=True)
    assert result.returncode == 4
    assert "--rebuild-state" in result.stderr and "Traceback" not in result.stderr


def test_global_options_work_after_the_command_too(tmp_path):
    missing = str(tmp_path / "after.yaml")
    for args in (["--config", missing, "status"], ["status", "--config", missing]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "after.yaml" in result.output, args
    assert CliRunner().invoke(main, ["status", "-q", "-v"]).exit_code == 2
    assert CliRunner().invoke(main, ["-q", "status", "-v"]).exit_code == 2


def test_init_writes_the_example_config_filled_in_mode_0600_and_never_overwrites(tmp_path):
    import pathlib

    from b24mirror.config.load import load_config
    from b24mirror.cli.initconfig import render

    example = pathlib.Path(__file__).resolve().parent.parent / "config.example.yaml"
    assert render() == example.read_text()  # pip users get the same commented file
    target = tmp_path / "b24mirror.yaml"
    args = ["init", str(target), "--webhook", "https://x.bitrix24.ru/rest/7/initsecret/", "--group", "5:77",
            "--group", "6:88"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert target.stat().st_mode & 0o777 == 0o600
    config = load_config(target, environ={})
    assert [(g.id, g.master_task) for g in config.groups] == [(5, 77), (6, 88)]
    assert config.webhook == "https://x.bitrix24.ru/rest/7/initsecret/"
    before = target.read_bytes()
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code == 2 and "exists already" in again.output and target.read_bytes() == before
    bad = CliRunner().invoke(main, ["init", str(tmp_path / "bad.yaml"), "--group", "5"])
    assert bad.exit_code == 2 and "ID:MASTER" in bad.output and not (tmp_path / "bad.yaml").exists()
