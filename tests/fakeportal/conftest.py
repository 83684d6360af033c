"""Fixtures for the fake portal: a small portal, a running server, and a urllib-only client."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from b24mirror.fakeportal import FakePortal, serve

REPO = Path(__file__).resolve().parents[2]


def samples_dir() -> Path:
    """The shared reference samples beside the repo when present, else the copy kept in the repo for CI."""
    shared = REPO / ".." / "shared" / "reference" / "bitrix24-samples"
    return shared if shared.is_dir() else Path(__file__).resolve().parent / "samples"


class Dropped(Exception):
    """The server closed the connection without an answer."""


class Http:
    """A tiny client over urllib.request: answers (status, parsed body), raises Dropped on a lost answer."""

    def __init__(self, base: str, timeout: float = 10.0):
        self.base = base
        self.timeout = timeout

    def request(self, path: str, params=None, *, form: bool = False, query: str | None = None,
                timeout: float | None = None, raw: bool = False):
        url = self.base + path + (("?" + query) if query else "")
        data, headers = None, {}
        if params is not None:
            if form:
                data = (params if isinstance(params, str) else urllib.parse.urlencode(params)).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(params).encode()
                headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                status, ctype, body = resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as exc:
            status, ctype, body = exc.code, exc.headers.get("Content-Type", ""), exc.read()
        except (ConnectionResetError, ConnectionAbortedError) as exc:
            raise Dropped(str(exc)) from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (ConnectionResetError, ConnectionAbortedError)):
                raise Dropped(str(exc)) from exc
            raise
        except __import__("http.client").client.RemoteDisconnected as exc:
            raise Dropped(str(exc)) from exc
        if raw:
            return status, ctype, body
        return status, json.loads(body.decode("utf-8"))

    def call(self, method: str, params=None, **kw):
        return self.request(method, params, **kw)


def make_portal(readings=None) -> FakePortal:
    """The small portal of the `portal` fixture, under the given readings (default: every default)."""
    p = FakePortal(seed=1, tz="+03:00", readings=readings)
    p.admin = p.add_user("Anna", "Petrova", admin=True)
    p.bob = p.add_user("Bob", "Stone")
    p.eve = p.add_user("Eve", "Outsider")
    p.ext = p.add_user("Ext", "Partner", extranet=True)
    p.secret = p.add_webhook(p.admin, scopes=("task", "tasks", "sonet_group", "user", "im"))
    p.bob_secret = p.add_webhook(p.bob, scopes=("task", "im"))
    p.eve_secret = p.add_webhook(p.eve, scopes=("task", "im", "user"))
    p.gid = p.add_group("Project", owner_id=p.admin, members=[p.bob, p.ext])
    p.master = p.add_task("Master", created_by=p.admin, responsible_id=p.admin, group_id=p.gid)
    p.classic = p.add_task("Classic sub", created_by=p.admin, responsible_id=p.bob, group_id=p.gid,
                           parent_id=p.master)
    p.card = p.add_task("New-card sub", created_by=p.bob, responsible_id=p.bob, group_id=p.gid,
                        parent_id=p.master, new_card=True)
    return p


@pytest.fixture
def portal():
    return make_portal()


@pytest.fixture
def server(portal):
    with serve(portal) as srv:
        yield srv


@pytest.fixture
def api(portal, server):
    """The admin's webhook."""
    return Http(server.webhook_url(portal.admin, portal.secret))


@pytest.fixture
def bob_api(portal, server):
    return Http(server.webhook_url(portal.bob, portal.bob_secret))


@pytest.fixture
def eve_api(portal, server):
    return Http(server.webhook_url(portal.eve, portal.eve_secret))
