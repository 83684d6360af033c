"""The webhook: where its URL comes from (environment, a 0600 file, the config), what a valid one
looks like, and how it is shown without its secret."""
from __future__ import annotations

import ipaddress
import os
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from b24mirror.config.validator import Validator, show

ENV_WEBHOOK = "B24MIRROR_WEBHOOK"
WEBHOOK_PATH_RE = re.compile(r"^/rest/(\d+)/([^/]+)/?$")


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


def read_webhook(v: "Validator", portal: dict, environ: dict[str, str], base_dir: Path) -> str:
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
            v.problem("portal.webhook", f"must be a URL string, got {show(inline)}")
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


def _read_webhook_file(v: "Validator", value: Any, base_dir: Path) -> str | None:
    if not isinstance(value, str) or not value.strip():
        v.problem("portal.webhook_file", f"must be a file path, got {show(value)}")
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
