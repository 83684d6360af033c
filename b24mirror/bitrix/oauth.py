"""OAuth tokens: refreshed once on expired_token; the new refresh token is stored atomically."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

from b24mirror.atomicfile import write_private
from b24mirror.bitrix.masking import remember_secret

DEFAULT_OAUTH_URL = "https://oauth.bitrix.info/oauth/token/"
TokenStore = Union[Callable[[str, str], None], str, os.PathLike, None]


@dataclass
class OAuthCredentials:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    portal_url: str
    oauth_url: str = DEFAULT_OAUTH_URL
    store: TokenStore = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.portal_url = self.portal_url.rstrip("/")
        for secret in (self.access_token, self.refresh_token, self.client_secret):
            remember_secret(secret)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, client_id: str, client_secret: str, portal_url: str,
                  oauth_url: str = DEFAULT_OAUTH_URL) -> "OAuthCredentials":
        """Tokens from a JSON file {"access_token", "refresh_token"}; refreshed tokens are written back to it."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["access_token"], data["refresh_token"], client_id, client_secret, portal_url,
                   oauth_url, store=path)

    def rest_url(self, method: str) -> str:
        return f"{self.portal_url}/rest/{method}"

    def refresh_params(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": self.client_id,
                "client_secret": self.client_secret, "refresh_token": self.refresh_token}

    def update(self, reply: dict[str, Any]) -> None:
        """Take the tokens from the OAuth server's reply and store them (the old refresh token is spent)."""
        access, refresh = str(reply["access_token"]), str(reply["refresh_token"])
        remember_secret(access)
        remember_secret(refresh)
        self.access_token, self.refresh_token = access, refresh
        save_tokens(self.store, access, refresh)


def save_tokens(store: TokenStore, access: str, refresh: str) -> None:
    if store is None:
        return
    if callable(store):
        store(access, refresh)
        return
    write_token_file(Path(store), access, refresh)


def write_token_file(path: Path, access: str, refresh: str) -> None:
    """Atomic: a temp file in the same directory, mode 0600, fsync, rename over the old file, fsync the directory."""
    path = Path(path)
    data: dict[str, Any] = {}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(old, dict):
            data.update(old)
    except (OSError, ValueError):
        pass
    data.update(access_token=access, refresh_token=refresh)
    write_private(path, json.dumps(data, indent=2).encode("utf-8"))
