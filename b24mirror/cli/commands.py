"""The command line: parse options, call one library function, render its result.

No sync logic lives here; the global options and the error contract are in options.py.
"""
from __future__ import annotations

import sys

import click

from b24mirror import __version__
from b24mirror.config.load import webhook_secret
from b24mirror.exitcodes import ExitCode
from b24mirror.cli.logsetup import register_secret
from b24mirror.cli.options import EPILOG_EXIT_CODES, Context, common_errors, fail, global_options
from b24mirror.cli.progress import progress_for
from b24mirror.policy.words import plural


@click.group(epilog=EPILOG_EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="b24mirror")
@global_options(show_default=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Mirror a Bitrix24 workgroup's subtask comments and events into its master task.

    The options --config, -q and -v may also follow the command: `b24mirror sync -q`.

    \b
    Examples:
      b24mirror init --webhook https://x.bitrix24.ru/rest/1/SECRET/ --group 42:1001
      b24mirror check                  # is the webhook and every group ready?
      b24mirror sync -q                # what cron runs every few minutes
      b24mirror sync --group 42 --dry-run
      b24mirror audit --json           # missing, duplicated, leaked mirrors
    """
    ctx.obj = Context(ctx.meta)


@main.command()
@global_options(show_default=False)
@click.option("--group", "groups", multiple=True, type=int, metavar="ID", help="Only this group (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what would be posted; write nothing to the portal or the state file.")
@click.option("--backfill", is_flag=True, help="Also mirror items older than the group's first sync.")
@click.option("--max-posts", type=click.IntRange(min=1), metavar="N", help="At most N posts per group in this run (default from config: 100).")
@click.option("--rebuild-state", is_flag=True, help="Rebuild a lost or corrupt state file from the master tasks' markers.")
@click.option("--metrics-file", metavar="PATH", help="Write a Prometheus textfile here (default: metrics_file in the config).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.pass_obj
@common_errors
def sync(obj: Context, groups, dry_run, backfill, max_posts, rebuild_state, metrics_file, as_json) -> None:
    """Post the mirrors each master task is missing, oldest first, each exactly once.

    With -q it prints nothing unless something needs a person; a warning that repeats every run
    is printed when it first appears and then once a day (`status` lists it always).

    \b
    Examples:
      b24mirror sync                       # all groups
      b24mirror sync -q --metrics-file /var/lib/node_exporter/b24mirror.prom   # as cron runs it
      b24mirror sync --group 42 --dry-run  # show what would be posted
      b24mirror sync --backfill --max-posts 500
    """
    from b24mirror.app import SyncRun, sync_run
    from b24mirror.cli.summary import print_sync_reports
    from b24mirror.stopping import stop_on_signals
    from b24mirror.sync import SyncOptions

    config = obj.config()
    options = SyncOptions(groups=tuple(groups), dry_run=dry_run, backfill=backfill, max_posts=max_posts)
    progress = progress_for(obj.verbosity, sys.stderr.isatty())
    run = SyncRun()
    code = ExitCode.FAILED
    try:
        with stop_on_signals():
            sync_run(config, options, run, rebuild_state=rebuild_state, progress=progress)
        code = ExitCode.OK if all(r.ok and not r.refused for r in run.reports) else ExitCode.FAILED
    except BaseException as exc:
        code = _exit_code_of(exc)
        raise
    finally:
        if progress:
            progress.close()
        _write_metrics(metrics_file or config.metrics_file, run, config, code, dry_run)
    print_sync_reports(run.reports, dry_run=dry_run, as_json=as_json, quiet=obj.quiet, shown=run.due_warnings)
    sys.exit(int(code))


def _exit_code_of(exc: BaseException) -> ExitCode:
    from b24mirror.errors import to_exit
    from b24mirror.stopping import Stopped

    if isinstance(exc, Stopped):
        return exc.exit_code
    mapped = to_exit(exc) if isinstance(exc, Exception) else None
    return mapped[1] if mapped else ExitCode.FAILED


def _write_metrics(path: str | None, run, config, code: ExitCode, dry_run: bool) -> None:
    """After every run but a dry one and one locked out (the run holding the lock writes its own)."""
    if not path or dry_run or code == ExitCode.LOCKED:
        return
    from b24mirror.ops.metrics import write_metrics

    try:
        write_metrics(path, run, [g.id for g in config.groups], int(code))
    except OSError as exc:
        click.echo(f"b24mirror: cannot write the metrics file {path}: {exc.strerror or exc}; "
                   "make its folder writable by the user running b24mirror", err=True)


@main.command()
@global_options(show_default=False)
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
    from b24mirror.cli import jsonout
    from b24mirror.app import run_audit
    from b24mirror.ops.audit_text import render_audit

    progress = progress_for(obj.verbosity, sys.stderr.isatty())
    try:
        audits = run_audit(obj.config(), tuple(groups), progress=progress)
    finally:
        if progress:
            progress.close()
    if as_json:
        jsonout.write(sys.stdout, {"groups": [a.to_dict() for a in audits]})
    else:
        click.echo(render_audit(audits))
    sys.exit(int(ExitCode.OK if all(a.clean for a in audits) else ExitCode.FAILED))


@main.command()
@global_options(show_default=False)
@click.option("--group", "groups", multiple=True, type=int, metavar="ID", help="Only this group (repeatable).")
@click.option("--dry-run", is_flag=True, help="List each action; write nothing to the portal or the state file.")
@click.option("--json", "as_json", is_flag=True, help="Print the actions and what is left as JSON on stdout.")
@click.pass_obj
@common_errors
def repair(obj: Context, groups, dry_run, as_json) -> None:
    """Fix what `audit` finds: post missing mirrors, delete duplicates beyond the first and leaks.

    Re-posts mirrors a person deleted (sync never does) and retries quarantined ones, oldest first,
    exactly once; touches only comments of the webhook's user carrying one marker. Exits 0 when the
    masters are clean afterwards, 1 when something is left (each with its fix).

    \b
    Examples:
      b24mirror repair --group 42 --dry-run   # list what it would do
      b24mirror repair --group 42
    """
    from b24mirror.cli import jsonout
    from b24mirror.app import run_repair
    from b24mirror.ops.repair import render_repair
    from b24mirror.stopping import stop_on_signals

    progress = progress_for(obj.verbosity, sys.stderr.isatty())
    try:
        with stop_on_signals():
            repairs = run_repair(obj.config(), tuple(groups), dry_run=dry_run, progress=progress)
    finally:
        if progress:
            progress.close()
    if as_json:
        jsonout.write(sys.stdout, {"dry_run": dry_run, "groups": [r.to_dict() for r in repairs]})
    else:
        click.echo(render_repair(repairs, dry_run=dry_run))
    sys.exit(int(ExitCode.OK if all(r.clean for r in repairs) else ExitCode.FAILED))


@main.command()
@global_options(show_default=False)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON on stdout (errors too).")
@click.pass_obj
@common_errors
def status(obj: Context, as_json) -> None:
    """Show each group's last successful sync, cursor, ledger size, last error and standing warnings.

    \b
    Example:
      b24mirror status --json
    """
    from b24mirror.app import group_statuses
    from b24mirror.cli.summary import print_statuses

    print_statuses(group_statuses(obj.config()), as_json=as_json)


@main.command()
@global_options(show_default=False)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON on stdout (errors too).")
@click.pass_obj
@common_errors
def check(obj: Context, as_json) -> None:
    """Check the webhook, its scopes, every group and master task, the state folder; print each fix.

    \b
    Examples:
      b24mirror check --config /etc/b24mirror/b24mirror.yaml
      b24mirror check --json     # {"schema": …, "ok": …, "findings": [{"level", "subject", "message", "fix"}]}
    """
    from dataclasses import asdict

    from b24mirror.app import make_client
    from b24mirror.cli import jsonout
    from b24mirror.ops.doctor import blocks_sync, render_findings, run_checks
    from b24mirror.ops.doctor.host import exit_code, local_checks

    config = obj.config()
    if not as_json:
        click.echo(f"config {config.source_path}: ok ({plural(len(config.groups), 'group')}, "
                   f"webhook {config.masked_webhook})")
    with make_client(config) as client:
        findings = local_checks(config) + run_checks(config, client)
    if as_json:
        jsonout.write(sys.stdout, {"config": config.source_path, "webhook": config.masked_webhook,
                                   "ok": not blocks_sync(findings), "findings": [asdict(f) for f in findings]})
    else:
        click.echo(render_findings(findings))
    sys.exit(int(exit_code(findings)))


@main.command()
@global_options(show_default=False)
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--webhook", metavar="URL", help="The inbound webhook URL (default: a placeholder to edit).")
@click.option("--group", "groups", multiple=True, metavar="ID:MASTER",
              help="A workgroup id and its master task id (repeatable).")
@click.option("--state-file", metavar="PATH",
              help="Where the ledger lives: a folder the service user may write (default: next to the config).")
@common_errors
def init(path, webhook, groups, state_file) -> None:
    """Write a commented configuration file (mode 0600) to PATH; never overwrite one.

    PATH defaults to --config, $B24MIRROR_CONFIG or ./b24mirror.yaml. Every key is listed with its
    default and a comment, as in config.example.yaml.

    \b
    Example:
      b24mirror init /etc/b24mirror/b24mirror.yaml --webhook https://x.bitrix24.ru/rest/1/SECRET/ --group 42:1001 \\
          --state-file /var/lib/b24mirror/state.json
    """
    from b24mirror.cli.initconfig import InitRefused, parse_group, write_config

    obj = click.get_current_context().find_object(Context)
    target = path or obj.config_path
    try:
        pairs = [parse_group(text) for text in groups]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--group") from None
    register_secret(webhook_secret(webhook or ""))
    try:
        written = write_config(target, webhook=webhook, groups=pairs, state_file=state_file)
    except InitRefused as exc:
        fail(str(exc), ExitCode.USAGE)
    click.echo(f"wrote {written}; edit it, then run: b24mirror --config {written} check", err=True)


@main.command()
@global_options(show_default=False)
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
    from b24mirror.cli.demo import run_demo

    sys.exit(run_demo(language, echo=click.echo))


if __name__ == "__main__":  # pragma: no cover
    main()
