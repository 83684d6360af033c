"""Load the YAML configuration, validate it, and report every problem at once.

Each problem names its key path and how to fix it, so one run of `b24mirror check`
(or any command) shows the administrator the whole list instead of one error per try.
"""
from __future__ import annotations

import difflib
import ipaddress
import os
import re
import stat
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml

from b24mirror.config.digest import parse_digest
from b24mirror.config.report import parse_report

from b24mirror.config.settings import (
    COMMENT_SOURCES,
    DELETE_POLICIES,
    EDIT_POLICIES,
    EVENT_KINDS,
    LANGUAGES,
    PLANS,
    Config,
    GroupConfig,
    Limits,
    Rules,
)

ENV_CONFIG = "B24MIRROR_CONFIG"
ENV_WEBHOOK = "B24MIRROR_WEBHOOK"
DEFAULT_CONFIG = "b24mirror.yaml"
MAX_CONFIG_BYTES = 1_000_000

WEBHOOK_PATH_RE = re.compile(r"^/rest/(\d+)/([^/]+)/?$")
PLAN_RATES = {"standard": (50, 2.0), "enterprise": (250, 5.0)}

TOP_KEYS = ("portal", "state_file", "language", "sweep_every", "metrics_file", "groups")
PORTAL_KEYS = ("webhook", "webhook_file", "plan", "burst", "per_second", "connect_timeout", "read_timeout", "run_deadline")
GROUP_KEYS = (
    "id", "master_task", "depth", "language", "comments", "auto_observe", "on_edit", "on_delete",
    "max_posts", "backfill", "max_chars", "rules", "name", "digest", "checklist", "report",
)
RULE_KEYS = ("exclude_extranet", "include_authors", "exclude_authors", "hide", "redact", "events", "comments")


class ConfigError(Exception):
    """One or more problems in the configuration; `problems` lists them all."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"{len(problems)} problem(s){where}:"] + [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


def mask_webhook(url: str) -> str:
    """Show a webhook without its secret: https://x.bitrix24.ru/rest/1/***/."""
    parts = urlsplit(url)
    host = _host(parts)  # never the netloc: a user:password@ in it would be printed
    match = WEBHOOK_PATH_RE.match(parts.path)
    if not match:
        return f"{parts.scheme}://{host}/***" if host else "***"
    return f"{parts.scheme}://{host}/rest/{match.group(1)}/***/"


def _host(parts) -> str:
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "") + (f":{port}" if port else "")


def webhook_secret(url: str) -> str | None:
    """The secret segment of a webhook URL, to be masked wherever text is printed."""
    match = WEBHOOK_PATH_RE.match(urlsplit(url).path)
    return match.group(2) if match else None


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
            [f"{path}: no such file; copy config.example.yaml to {path} and edit it, "
             f"or pass --config PATH (or set {ENV_CONFIG})"]
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
    v = _Validator()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"the file must be a mapping of keys (portal, state_file, groups), got {_kind(data)}"], source)
    v.unknown_keys(data, TOP_KEYS, "")

    portal = data.get("portal", {})
    if not isinstance(portal, dict):
        v.problem("portal", f"must be a mapping with a webhook, got {_kind(portal)}")
        portal = {}
    v.unknown_keys(portal, PORTAL_KEYS, "portal.")
    webhook = _webhook(v, portal, environ, base_dir)
    limits = _limits(v, portal)

    state_file = data.get("state_file", "b24mirror-state.json")
    if not isinstance(state_file, str) or not state_file.strip():
        v.problem("state_file", f"must be a file path, got {_show(state_file)}")
        state_file = "b24mirror-state.json"
    state_path = Path(os.path.expanduser(state_file))
    if not state_path.is_absolute():
        state_path = base_dir / state_path  # relative to the config file, so cron's cwd does not matter

    metrics_file = _metrics_file(v, data.get("metrics_file"), base_dir)
    default_language = v.choice(data, "language", LANGUAGES, "ru", "")
    sweep_every = v.integer(data, "sweep_every", 12, "", minimum=1)

    groups = _groups(v, data.get("groups"), default_language)
    if v.problems:
        raise ConfigError(v.problems, source)
    return Config(
        webhook=webhook,
        masked_webhook=mask_webhook(webhook),
        state_file=str(state_path),
        groups=tuple(groups),
        limits=limits,
        sweep_every=sweep_every,
        source_path=source,
        metrics_file=metrics_file,
    )


def _metrics_file(v: "_Validator", value: Any, base_dir: Path) -> str | None:
    """Where `sync` writes its Prometheus textfile; node_exporter reads only names ending in .prom."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip().endswith(".prom"):
        v.problem("metrics_file", f"must be a file path ending in .prom (node_exporter's textfile collector reads "
                                  f"only those), got {_show(value)}")
        return None
    path = Path(os.path.expanduser(value.strip()))
    return str(path if path.is_absolute() else base_dir / path)


def _webhook(v: "_Validator", portal: dict, environ: dict[str, str], base_dir: Path) -> str:
    from_env = environ.get(ENV_WEBHOOK, "").strip()
    inline = portal.get("webhook")
    from_file = portal.get("webhook_file")
    if inline is not None and from_file is not None and not from_env:
        v.problem("portal.webhook_file", "give either portal.webhook or portal.webhook_file, not both")
        return ""
    if from_env:
        url, key = from_env, ENV_WEBHOOK
    elif from_file is not None:
        url, key = _read_webhook_file(v, from_file, base_dir), "portal.webhook_file"
        if url is None:
            return ""
    elif inline is not None:
        if not isinstance(inline, str):
            v.problem("portal.webhook", f"must be a URL string, got {_show(inline)}")
            return ""
        url, key = inline.strip(), "portal.webhook"
    else:
        v.problem("portal.webhook", f"missing: set it to your inbound webhook URL (https://YOUR.bitrix24.ru/rest/USER_ID/SECRET/), "
                                    f"or use portal.webhook_file, or the {ENV_WEBHOOK} environment variable")
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        # Not even the masked URL: a mistyped one may carry the secret where the masking does not look.
        got = f"a URL starting with {parts.scheme}:" if re.fullmatch(r"[a-z][a-z0-9+.-]{0,9}", parts.scheme) \
            else "something that is not a URL"
        v.problem(key, f"must be a URL like https://YOUR.bitrix24.ru/rest/USER_ID/SECRET/, got {got}")
        return ""
    if parts.scheme != "https" and not _is_loopback(parts.hostname):
        # Only this host may talk plain http: on any other address, private ones included, the secret
        # would cross a network unencrypted.
        v.problem(key, f"must use https (plain http is allowed only for loopback addresses); got http://{_host(parts)}")
    if not WEBHOOK_PATH_RE.match(parts.path):
        v.problem(key, "must end in /rest/USER_ID/SECRET/ as Bitrix24 shows it under Developer resources → Inbound webhook; "
                       f"got {mask_webhook(url)}")
        return ""
    return url if url.endswith("/") else url + "/"


def _read_webhook_file(v: "_Validator", value: Any, base_dir: Path) -> str | None:
    if not isinstance(value, str) or not value.strip():
        v.problem("portal.webhook_file", f"must be a file path, got {_show(value)}")
        return None
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = base_dir / path
    try:
        mode = path.stat().st_mode
    except OSError:
        v.problem("portal.webhook_file", f"{path}: no such file; write the webhook URL into it and chmod 600 it")
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        v.problem("portal.webhook_file", f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}")
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        v.problem("portal.webhook_file", f"{path}: cannot be read ({exc})")
        return None


def _limits(v: "_Validator", portal: dict) -> Limits:
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


def _groups(v: "_Validator", groups: Any, default_language: str) -> list[GroupConfig]:
    if groups is None:
        v.problem("groups", "missing: list at least one group, e.g. groups: [{id: 42, master_task: 1001, depth: 2}]")
        return []
    if not isinstance(groups, list) or not groups:
        v.problem("groups", f"must be a non-empty list of groups, got {_show(groups)}")
        return []
    result: list[GroupConfig] = []
    seen: dict[int, int] = {}
    for index, group in enumerate(groups):
        prefix = f"groups[{index}]."
        if not isinstance(group, dict):
            v.problem(f"groups[{index}]", f"must be a mapping with id, master_task and depth, got {_show(group)}")
            continue
        v.unknown_keys(group, GROUP_KEYS, prefix)
        gid = v.positive_id(group, "id", prefix)
        master = v.positive_id(group, "master_task", prefix)
        depth = v.integer(group, "depth", 2, prefix, minimum=1, maximum=2)
        if gid is not None:
            if gid in seen:
                v.problem(f"{prefix}id", f"group {gid} is listed twice (also groups[{seen[gid]}]); merge the two entries")
            seen.setdefault(gid, index)
        rules = _rules(v, group.get("rules", {}), f"{prefix}rules.")
        config = GroupConfig(
            id=gid or 0,
            master_task=master or 0,
            depth=depth,
            rules=rules,
            language=v.choice(group, "language", LANGUAGES, default_language, prefix),
            comments_source=v.choice(group, "comments", COMMENT_SOURCES, "auto", prefix),
            auto_observe=v.boolean(group, "auto_observe", False, prefix),
            on_edit=v.choice(group, "on_edit", EDIT_POLICIES, "ignore", prefix),
            on_delete=v.choice(group, "on_delete", DELETE_POLICIES, "ignore", prefix),
            max_posts=v.integer(group, "max_posts", 100, prefix, minimum=1),
            backfill=v.boolean(group, "backfill", False, prefix),
            max_chars=v.integer(group, "max_chars", 2000, prefix, minimum=200),
            digest=parse_digest(v, group.get("digest"), f"{prefix}digest"),
            checklist=v.boolean(group, "checklist", False, prefix),
            report=parse_report(v, group.get("report"), f"{prefix}report"),
        )
        result.append(config)
    return result


def _rules(v: "_Validator", rules: Any, prefix: str) -> Rules:
    if rules is None:
        return Rules()
    if not isinstance(rules, dict):
        v.problem(prefix.rstrip("."), f"must be a mapping, got {_show(rules)}")
        return Rules()
    v.unknown_keys(rules, RULE_KEYS, prefix)
    events = v.string_list(rules, "events", None, prefix)
    if events is None:
        events_tuple = Rules().events
    else:
        bad = [e for e in events if e not in EVENT_KINDS]
        for name in bad:
            v.problem(f"{prefix}events", f"unknown event kind {name!r}; choose from {', '.join(EVENT_KINDS)}")
        events_tuple = tuple(e for e in events if e in EVENT_KINDS)
    return Rules(
        exclude_extranet=v.boolean(rules, "exclude_extranet", False, prefix),
        include_authors=v.id_list(rules, "include_authors", prefix),
        exclude_authors=v.id_list(rules, "exclude_authors", prefix),
        hide_patterns=v.patterns(rules, "hide", prefix),
        redact_patterns=v.patterns(rules, "redact", prefix),
        events=events_tuple,
        mirror_comments=v.boolean(rules, "comments", True, prefix),
    )


class _Validator:
    """Collects problems instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")

    def unknown_keys(self, mapping: dict, allowed: tuple[str, ...], prefix: str) -> None:
        for key in mapping:
            if key in allowed:
                continue
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else f"; known keys: {', '.join(allowed)}"
            self.problem(f"{prefix}{key}", f"unknown key{hint}")

    def _get(self, mapping: dict, key: str, default: Any, prefix: str, check: Callable[[Any], bool], want: str) -> Any:
        if key not in mapping or mapping[key] is None:
            return default
        value = mapping[key]
        if not check(value):
            self.problem(f"{prefix}{key}", f"must be {want}, got {_show(value)}")
            return default
        return value

    def positive_id(self, mapping: dict, key: str, prefix: str) -> int | None:
        if key not in mapping or mapping[key] is None:
            self.problem(f"{prefix}{key}", "missing: must be a positive integer (the id shown in the portal's address bar)")
            return None
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.problem(f"{prefix}{key}", f"must be a positive integer, got {_show(value)}")
            return None
        return value

    def integer(self, mapping, key, default, prefix, minimum=None, maximum=None) -> int:
        lo = "" if minimum is None else f" >= {minimum}"
        hi = "" if maximum is None else f" and <= {maximum}"
        want = f"an integer{lo}{hi}" if maximum is None or minimum is None else f"an integer from {minimum} to {maximum}"
        return self._get(
            mapping, key, default, prefix,
            lambda x: isinstance(x, int) and not isinstance(x, bool)
            and (minimum is None or x >= minimum) and (maximum is None or x <= maximum),
            want,
        )

    def number(self, mapping, key, default, prefix, minimum) -> float:
        return float(self._get(
            mapping, key, default, prefix,
            lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x >= minimum,
            f"a number >= {minimum}",
        ))

    def boolean(self, mapping, key, default, prefix) -> bool:
        return self._get(mapping, key, default, prefix, lambda x: isinstance(x, bool), "true or false")

    def choice(self, mapping, key, choices, default, prefix) -> str:
        return self._get(mapping, key, default, prefix, lambda x: x in choices, f"one of {', '.join(choices)}")

    def string_list(self, mapping, key, default, prefix) -> list[str] | None:
        return self._get(
            mapping, key, default, prefix,
            lambda x: isinstance(x, list) and all(isinstance(i, str) for i in x), "a list of strings",
        )

    def id_list(self, mapping, key, prefix) -> tuple[int, ...]:
        return tuple(self._get(
            mapping, key, [], prefix,
            lambda x: isinstance(x, list) and all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in x),
            "a list of user ids (positive integers)",
        ))

    def patterns(self, mapping, key, prefix) -> tuple[re.Pattern, ...]:
        texts = self.string_list(mapping, key, [], prefix) or []
        compiled = []
        for i, text in enumerate(texts):
            try:
                compiled.append(re.compile(text, re.MULTILINE))
            except re.error as exc:
                self.problem(f"{prefix}{key}[{i}]", f"not a valid regular expression ({exc}): {text!r}")
        return tuple(compiled)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _kind(value: Any) -> str:
    return {list: "a list", dict: "a mapping", str: "a string", int: "an integer", float: "a number",
            bool: "a boolean", type(None): "nothing"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value[:60]}"'
    if isinstance(value, (dict, list)):
        return _kind(value)
    return repr(value)
