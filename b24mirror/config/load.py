"""Load the YAML configuration, validate it, and report every problem at once.

Each problem names its key path and how to fix it, so one run of `b24mirror check`
(or any command) shows the administrator the whole list instead of one error per try.
The webhook's sources live in webhook.py, the groups in groups.py, the shared validator in validator.py.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from b24mirror.config.groups import read_groups
from b24mirror.config.settings import LANGUAGES, PLANS, Config, Limits
from b24mirror.config.validator import Validator, kind, show
from b24mirror.config.webhook import ENV_WEBHOOK, mask_webhook, read_webhook, webhook_secret

__all__ = ["ConfigError", "ENV_CONFIG", "ENV_WEBHOOK", "default_config_path", "load_config", "mask_webhook",
           "validate", "webhook_secret"]

ENV_CONFIG = "B24MIRROR_CONFIG"
DEFAULT_CONFIG = "b24mirror.yaml"
MAX_CONFIG_BYTES = 1_000_000

PLAN_RATES = {"standard": (50, 2.0), "enterprise": (250, 5.0)}

TOP_KEYS = ("portal", "state_file", "language", "sweep_every", "metrics_file", "groups")
PORTAL_KEYS = ("webhook", "webhook_file", "plan", "burst", "per_second", "connect_timeout", "read_timeout", "run_deadline")


class ConfigError(Exception):
    """One or more problems in the configuration; `problems` lists them all."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"{len(problems)} problem{'' if len(problems) == 1 else 's'}{where}:"] + [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


def default_config_path() -> str:
    return os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG


def load_config(path: str | os.PathLike, environ: dict[str, str] | None = None) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: no such file; write one with `b24mirror init {path} --webhook URL --group ID:MASTER` "
             f"and edit it, or pass --config PATH (or set {ENV_CONFIG})"]
        ) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: {len(raw)} bytes is too large for a config file (limit {MAX_CONFIG_BYTES})"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text (is it a binary file?)"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{path}: not valid YAML{where}: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: nested too deeply to be a b24mirror config"]) from None
    return validate(data, base_dir=path.resolve().parent, environ=environ, source=str(path))


def validate(data: Any, *, base_dir: Path, environ: dict[str, str], source: str = "") -> Config:
    v = Validator()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"the file must be a mapping of keys (portal, state_file, groups), got {kind(data)}"], source)
    v.unknown_keys(data, TOP_KEYS, "")

    portal = data.get("portal", {})
    if not isinstance(portal, dict):
        v.problem("portal", f"must be a mapping with a webhook, got {kind(portal)}")
        portal = {}
    v.unknown_keys(portal, PORTAL_KEYS, "portal.")
    webhook = read_webhook(v, portal, environ, base_dir)
    limits = _limits(v, portal)

    state_file = data.get("state_file", "b24mirror-state.json")
    if not isinstance(state_file, str) or not state_file.strip():
        v.problem("state_file", f"must be a file path, got {show(state_file)}")
        state_file = "b24mirror-state.json"
    state_path = Path(os.path.expanduser(state_file))
    if not state_path.is_absolute():
        state_path = base_dir / state_path  # relative to the config file, so cron's cwd does not matter

    metrics_file = _metrics_file(v, data.get("metrics_file"), base_dir)
    default_language = v.choice(data, "language", LANGUAGES, "ru", "")
    sweep_every = v.integer(data, "sweep_every", 12, "", minimum=1)

    groups = read_groups(v, data.get("groups"), default_language)
    if v.problems:
        raise ConfigError(v.problems, source)
    return Config(
        webhook=webhook,
        masked_webhook=mask_webhook(webhook),
        webhook_key=_webhook_key(portal, environ),
        state_file=str(state_path),
        groups=tuple(groups),
        limits=limits,
        sweep_every=sweep_every,
        source_path=source,
        metrics_file=metrics_file,
    )


def _metrics_file(v: "Validator", value: Any, base_dir: Path) -> str | None:
    """Where `sync` writes its Prometheus textfile; node_exporter reads only names ending in .prom."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip().endswith(".prom"):
        v.problem("metrics_file", f"must be a file path ending in .prom (node_exporter's textfile collector reads "
                                  f"only those), got {show(value)}")
        return None
    path = Path(os.path.expanduser(value.strip()))
    return str(path if path.is_absolute() else base_dir / path)


def _limits(v: "Validator", portal: dict) -> Limits:
    plan = v.choice(portal, "plan", PLANS, "standard", "portal.")
    burst_default, rate_default = PLAN_RATES[plan]
    return Limits(
        plan=plan,
        burst=v.integer(portal, "burst", burst_default, "portal.", minimum=1),
        per_second=v.number(portal, "per_second", rate_default, "portal.", minimum=0.01),
        connect_timeout=v.number(portal, "connect_timeout", 5.0, "portal.", minimum=0.1),
        read_timeout=v.number(portal, "read_timeout", 30.0, "portal.", minimum=0.1),
        run_deadline=v.number(portal, "run_deadline", 240.0, "portal.", minimum=1.0),
    )


def _webhook_key(portal: dict, environ: dict[str, str]) -> str:
    """Where the URL came from, so an error sends the user to the place they actually set it."""
    if environ.get(ENV_WEBHOOK, "").strip():
        return ENV_WEBHOOK
    return "portal.webhook_file" if portal.get("webhook_file") is not None else "portal.webhook"
