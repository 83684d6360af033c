"""The global options (--config, -v, -q), the command's context and the one way a command fails.

Errors from the layers below arrive as exceptions and leave here as one clear message and a
documented exit code (see exitcodes.py and the README), never a traceback.
"""
from __future__ import annotations

import functools
import logging
import sys

import click

from b24mirror.config.load import ENV_CONFIG, ConfigError, default_config_path, load_config, webhook_secret
from b24mirror.exitcodes import ExitCode
from b24mirror.cli.logsetup import mask, register_secret, setup_logging

EPILOG_EXIT_CODES = (
    "Exit codes: 0 ok; 1 a group failed, drift found or a blocking finding; 2 usage or config error; "
    "3 another run holds the lock; 4 corrupt state file; 5 portal refused the webhook or is unreachable; "
    "130/143 sync or repair stopped by SIGINT/SIGTERM (the next run goes on)."
)
GLOBALS = "b24mirror.globals"  # ctx.meta key: the global options, from before or after the command


def _remember(ctx: click.Context, param: click.Parameter, value):
    if value:  # a flag left off, or no --config, must not undo one given on the other side of the command
        ctx.meta.setdefault(GLOBALS, {})[param.name] = value
    return value


def global_options(show_default: bool):
    """--config, -v and -q, accepted both before the command (`b24mirror -q sync`) and after it."""
    config_default = f"./b24mirror.yaml, or ${ENV_CONFIG}" if show_default else None

    def decorate(func):
        for option in reversed((
            click.option("--config", "config_path", metavar="PATH", expose_value=False, callback=_remember,
                         show_default=config_default, help="The YAML configuration file."),
            click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_remember,
                         help="Log every request (secrets masked)."),
            click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_remember,
                         help="Print only what needs a person: for cron."),
        )):
            func = option(func)
        return func

    return decorate


class Context:
    """The global options, read when the command runs (they may follow its name)."""

    def __init__(self, meta: dict) -> None:
        self._meta = meta
        self.webhook_key = "portal.webhook"  # where the loaded config's URL came from, for the fixes

    @property
    def _globals(self) -> dict:
        return self._meta.get(GLOBALS, {})

    @property
    def config_path(self) -> str:
        return self._globals.get("config_path") or default_config_path()

    @property
    def verbosity(self) -> int:
        return 1 if self._globals.get("verbose") else (-1 if self._globals.get("quiet") else 0)

    @property
    def quiet(self) -> bool:
        return self.verbosity < 0

    def start(self) -> None:
        if self._globals.get("verbose") and self._globals.get("quiet"):
            raise click.UsageError("-v and -q contradict each other: pick one")
        setup_logging(self.verbosity)

    def config(self):
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            fail(str(exc), ExitCode.USAGE)
        register_secret(webhook_secret(config.webhook))
        self.webhook_key = config.webhook_key
        return config


def fail(message: str, code: ExitCode) -> None:
    click.echo(f"b24mirror: {mask(message)}", err=True)
    sys.exit(int(code))


def common_errors(func):
    """Turn the library's known failures into one line and an exit code, never a traceback.

    With --json the failure is also a JSON document on stdout, so a monitor always gets JSON."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from b24mirror.errors import to_exit
        from b24mirror.stopping import Stopped

        obj = click.get_current_context().find_object(Context)
        if obj is not None:
            obj.start()
        try:
            return func(*args, **kwargs)
        except Stopped as stop:
            _stopped(stop, as_json=kwargs.get("as_json", False))
        except click.ClickException:
            raise  # a usage error: click prints it with the usage line and exits 2
        except Exception as exc:  # noqa: BLE001 - mapped below, unknown ones re-raised
            mapped = to_exit(exc, obj.webhook_key if obj is not None else "portal.webhook")
            if mapped is None:
                if logging.getLogger("b24mirror").isEnabledFor(logging.DEBUG):
                    raise  # -v: the whole traceback, for a bug report
                mapped = (f"unexpected error: {type(exc).__name__}: {exc} (run with -v to see where; "
                          f"nothing was posted twice — the next run resumes from the ledger)"), ExitCode.FAILED
            message, code = mapped
            if kwargs.get("as_json"):
                from b24mirror.cli import jsonout

                jsonout.write(sys.stdout, jsonout.error_document(code, mask(message)))
            fail(message, code)

    return wrapper


def _stopped(stop, *, as_json: bool) -> None:
    message = f"stopped by {stop}: {stop.posted} posted; the next run goes on"
    if as_json:
        from b24mirror.cli import jsonout

        jsonout.write(sys.stdout, jsonout.error_document(stop.exit_code, message))
    fail(message, stop.exit_code)
