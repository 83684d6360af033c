"""The command line: parse options, call one library function, render its result.

No sync logic lives here. Errors from the layers below arrive as exceptions and leave as
one clear message and a documented exit code (see exitcodes.py and the README).
"""
from __future__ import annotations

import functools
import logging
import sys

import click

from b24mirror import __version__
from b24mirror.config import ENV_CONFIG, ConfigError, default_config_path, load_config, webhook_secret
from b24mirror.exitcodes import ExitCode
from b24mirror.logsetup import mask, register_secret, setup_logging

EPILOG_EXIT_CODES = (
    "Exit codes: 0 ok; 1 a group failed, drift found or a blocking finding; 2 usage or config error; "
    "3 another run holds the lock; 4 corrupt state file; 5 portal refused the webhook or is unreachable."
)


class Context:
    def __init__(self, config_path: str, verbosity: int) -> None:
        self.config_path = config_path
        self.verbosity = verbosity

    def config(self):
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            fail(str(exc), ExitCode.USAGE)
        register_secret(webhook_secret(config.webhook))
        return config


def fail(message: str, code: ExitCode) -> None:
    click.echo(f"b24mirror: {mask(message)}", err=True)
    sys.exit(int(code))


class ProgressBar:
    """One line on a terminal while a group posts many mirrors (a backfill); nothing under cron."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.shown = False

    def __call__(self, group_id: int, done: int, total: int) -> None:
        if total < 5:
            return  # a few posts finish before a bar is worth reading
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        click.echo(f"\rgroup {group_id}: posting [{bar}] {done}/{total}", err=True, nl=False)
        self.shown = True
        if done == total:
            self.close()

    def close(self) -> None:
        if self.shown:
            click.echo("", err=True)
            self.shown = False


def common_errors(func):
    """Turn the library's known failures into one line and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from b24mirror.errors import to_exit

        try:
            return func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - mapped below, unknown ones re-raised
            mapped = to_exit(exc)
            if mapped is None:
                if logging.getLogger("b24mirror").isEnabledFor(logging.DEBUG):
                    raise  # -v: the whole traceback, for a bug report
                mapped = (f"unexpected error: {type(exc).__name__}: {exc} (run with -v to see where; "
                          f"nothing was posted twice — the next run resumes from the ledger)"), ExitCode.FAILED
            message, code = mapped
            fail(message, code)

    return wrapper


@click.group(epilog=EPILOG_EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="b24mirror")
@click.option(
    "--config", "config_path", default=default_config_path, show_default=f"./b24mirror.yaml, or ${ENV_CONFIG}",
    metavar="PATH", help="The YAML configuration file.",
)
@click.option("-v", "--verbose", "verbose", is_flag=True, help="Log every request (secrets masked).")
@click.option("-q", "--quiet", "quiet", is_flag=True, help="Only warnings and errors: for cron.")
@click.pass_context
def main(ctx: click.Context, config_path: str, verbose: bool, quiet: bool) -> None:
    """Mirror a Bitrix24 workgroup's subtask comments and events into its master task.

    \b
    Examples:
      b24mirror check                  # is the webhook and every group ready?
      b24mirror sync                   # what cron runs every few minutes
      b24mirror sync --group 42 --dry-run
      b24mirror audit --json           # missing, duplicated, leaked mirrors
    """
    if verbose and quiet:
        raise click.UsageError("-v and -q contradict each other: pick one")
    verbosity = 1 if verbose else (-1 if quiet else 0)
    setup_logging(verbosity)
    ctx.obj = Context(config_path, verbosity)


@main.command()
@click.option("--group", "groups", multiple=True, type=int, metavar="ID", help="Only this group (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what would be posted; write nothing to the portal or the state file.")
@click.option("--backfill", is_flag=True, help="Also mirror items older than the group's first sync.")
@click.option("--max-posts", type=click.IntRange(min=1), metavar="N", help="At most N posts per group in this run (default from config: 100).")
@click.option("--rebuild-state", is_flag=True, help="Rebuild a lost or corrupt state file from the master tasks' markers.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.pass_obj
@common_errors
def sync(obj: Context, groups, dry_run, backfill, max_posts, rebuild_state, as_json) -> None:
    """Post the mirrors each master task is missing, oldest first, each exactly once.

    \b
    Examples:
      b24mirror sync                       # all groups, as cron runs it
      b24mirror sync --group 42            # one group, by hand
      b24mirror sync --group 42 --dry-run  # show what would be posted
      b24mirror sync --backfill --max-posts 500
    """
    from b24mirror.app import run_sync
    from b24mirror.report import print_sync_reports
    from b24mirror.sync import SyncOptions

    config = obj.config()
    options = SyncOptions(groups=tuple(groups), dry_run=dry_run, backfill=backfill, max_posts=max_posts)
    progress = ProgressBar() if sys.stderr.isatty() and obj.verbosity >= 0 else None
    reports = run_sync(config, options, rebuild_state=rebuild_state, progress=progress)
    if progress:
        progress.close()
    print_sync_reports(reports, dry_run=dry_run, as_json=as_json)
    sys.exit(int(ExitCode.OK if all(r.ok for r in reports) else ExitCode.FAILED))


@main.command()
@click.option("--group", "groups", multiple=True, type=int, metavar="ID", help="Only this group (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON on stdout.")
@click.pass_obj
@common_errors
def audit(obj: Context, groups, as_json) -> None:
    """Compare each master task with what it should hold; change nothing.

    Reports missing, duplicated, leaked and orphaned mirrors; exits 1 when it finds any.

    \b
    Example:
      b24mirror audit --group 42 --json
    """
    import json

    from b24mirror.app import run_audit
    from b24mirror.audit import render_audit

    audits = run_audit(obj.config(), tuple(groups))
    if as_json:
        click.echo(json.dumps({"groups": [a.to_dict() for a in audits]}, ensure_ascii=False, indent=2))
    else:
        click.echo(render_audit(audits))
    sys.exit(int(ExitCode.OK if all(a.clean for a in audits) else ExitCode.FAILED))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON on stdout.")
@click.pass_obj
@common_errors
def status(obj: Context, as_json) -> None:
    """Show each group's last successful sync, cursor, ledger size and last error.

    \b
    Example:
      b24mirror status --json
    """
    from b24mirror.app import group_statuses
    from b24mirror.report import print_statuses

    print_statuses(group_statuses(obj.config()), as_json=as_json)


@main.command()
@click.pass_obj
@common_errors
def check(obj: Context) -> None:
    """Check the webhook, its scopes, every group and master task; print each fix.

    \b
    Example:
      b24mirror --config /etc/b24mirror.yaml check
    """
    from b24mirror.app import make_client
    from b24mirror.doctor import blocks_sync, render_findings, run_checks

    config = obj.config()
    click.echo(f"config {config.source_path}: ok ({len(config.groups)} groups, webhook {config.masked_webhook})")
    with make_client(config) as client:
        findings = run_checks(config, client)
    click.echo(render_findings(findings))
    sys.exit(int(ExitCode.FAILED if blocks_sync(findings) else ExitCode.OK))


@main.command()
@click.option("--language", type=click.Choice(["en", "ru"]), default="en", show_default=True,
              help="The words b24mirror adds to mirrors.")
@common_errors
def demo(language: str) -> None:
    """Run b24mirror on a bundled fake portal and show what a manager would read.

    Needs no portal and no config: everything happens on 127.0.0.1 and in a temporary folder.

    \b
    Example:
      b24mirror demo --language ru
    """
    from b24mirror.demo import run_demo

    sys.exit(run_demo(language, echo=click.echo))


if __name__ == "__main__":  # pragma: no cover
    main()
