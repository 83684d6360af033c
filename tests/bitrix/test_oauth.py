import json
import os
import stat

import pytest
import requests

from b24mirror.bitrix import AuthError, OAuthCredentials, TransportError

from .helpers import ok

PORTAL = "https://oauth-portal.bitrix24.com"
OAUTH = "https://oauth.bitrix.info/oauth/token/"


def creds(store=None, **kw):
    return OAuthCredentials("acc-old-123", "ref-old-456", "app.client", "cl-secret-789", PORTAL, store=store, **kw)


def test_calls_go_to_rest_with_auth(rsps, make_client):
    rsps.post(f"{PORTAL}/rest/user.current", json=ok({"ID": "1"}))
    client = make_client(oauth=creds())
    assert client.user_id is None and client.portal_url == PORTAL
    client.call("user.current")
    assert rsps.calls[0].request.url.endswith("/rest/user.current?auth=acc-old-123")


def test_refresh_once_on_expired_token_and_store_callable(rsps, make_client):
    stored = []
    rsps.post(f"{PORTAL}/rest/task.commentitem.add", status=401,
              json={"error": "expired_token", "error_description": "The access token provided has expired."})
    rsps.post(f"{PORTAL}/rest/task.commentitem.add", json=ok(77))
    rsps.get(OAUTH, json={"access_token": "acc-new-321", "refresh_token": "ref-new-654", "expires_in": 3600})
    oauth = creds(store=lambda a, r: stored.append((a, r)))
    client = make_client(oauth=oauth)
    assert client.call("task.commentitem.add", {"TASKID": 1}).result == 77  # a write: expired_token means it did not run
    assert stored == [("acc-new-321", "ref-new-654")]
    assert oauth.access_token == "acc-new-321" and oauth.refresh_token == "ref-new-654"
    refresh = rsps.calls[1].request
    assert "grant_type=refresh_token" in refresh.url and "refresh_token=ref-old-456" in refresh.url
    assert rsps.calls[2].request.url.endswith("auth=acc-new-321")
    assert client.stats.refreshes == 1


def test_refresh_only_once(rsps, make_client):
    rsps.post(f"{PORTAL}/rest/user.current", status=401, json={"error": "expired_token", "error_description": ""})
    rsps.get(OAUTH, json={"access_token": "acc-new-321", "refresh_token": "ref-new-654"})
    client = make_client(oauth=creds())
    with pytest.raises(AuthError):
        client.call("user.current")
    assert len([c for c in rsps.calls if c.request.url.startswith(OAUTH)]) == 1
    assert len(rsps.calls) == 3


def test_invalid_grant_is_auth_error_without_secrets(rsps, make_client):
    rsps.post(f"{PORTAL}/rest/user.current", status=401, json={"error": "expired_token", "error_description": ""})
    rsps.get(OAUTH, status=400, json={"error": "invalid_grant", "error_description": "refresh token ref-old-456 expired"})
    with pytest.raises(AuthError) as info:
        make_client(oauth=creds()).call("user.current")
    assert info.value.code == "INVALID_GRANT"
    assert "ref-old-456" not in str(info.value)


def test_refresh_network_failure(rsps, make_client):
    rsps.post(f"{PORTAL}/rest/user.current", status=401, json={"error": "expired_token", "error_description": ""})
    rsps.get(OAUTH, body=requests.exceptions.ConnectTimeout(f"timed out {OAUTH}?client_secret=cl-secret-789"))
    with pytest.raises(TransportError) as info:
        make_client(oauth=creds()).call("user.current")
    assert "cl-secret-789" not in str(info.value)


def test_token_file_written_atomically_0600(tmp_path, rsps, make_client):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"access_token": "acc-old-123", "refresh_token": "ref-old-456", "note": "kept"}))
    oauth = OAuthCredentials.from_file(path, client_id="app.client", client_secret="cl-secret-789", portal_url=PORTAL)
    assert oauth.refresh_token == "ref-old-456"
    rsps.post(f"{PORTAL}/rest/user.current", status=401, json={"error": "expired_token", "error_description": ""})
    rsps.post(f"{PORTAL}/rest/user.current", json=ok({"ID": "1"}))
    rsps.get(OAUTH, json={"access_token": "acc-new-321", "refresh_token": "ref-new-654"})
    make_client(oauth=oauth).call("user.current")
    data = json.loads(path.read_text())
    assert data == {"access_token": "acc-new-321", "refresh_token": "ref-new-654", "note": "kept"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json"]  # no temp file left behind


def test_repr_hides_tokens():
    text = repr(creds())
    for secret in ("acc-old-123", "ref-old-456", "cl-secret-789"):
        assert secret not in text


def test_exactly_one_of_webhook_or_oauth():
    from b24mirror.bitrix import BitrixClient
    with pytest.raises(ValueError):
        BitrixClient()
    with pytest.raises(ValueError):
        BitrixClient("https://x.bitrix24.ru/rest/1/abc/", oauth=creds())
