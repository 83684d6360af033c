import logging

import pytest
import requests

from b24mirror.bitrix import BitrixClient, OutcomeUnknown, TransportError, mask_url

from .helpers import SECRET, WEBHOOK, url


def test_mask_url():
    assert mask_url("https://x/rest/1/SECRET/") == "https://x/rest/1/***/"
    assert mask_url("https://x/rest/api/1/SECRET/tasks.task.get") == "https://x/rest/api/1/***/tasks.task.get"
    assert mask_url("https://x/rest/user.current?auth=TOKEN&x=1") == "https://x/rest/user.current?auth=***&x=1"


def test_network_errors_do_not_leak_the_secret(rsps, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    # requests puts the full URL into its exception text
    leak = f"HTTPSConnectionPool(host='example.bitrix24.ru', port=443): Read timed out. (url: /rest/7/{SECRET}/user.current)"
    rsps.post(url("user.current"), body=requests.exceptions.ReadTimeout(leak))
    rsps.post(url("im.message.add"), body=requests.exceptions.ReadTimeout(leak))
    client = make_client(max_attempts=2)
    with pytest.raises(TransportError) as read_err:
        client.call("user.current")
    with pytest.raises(OutcomeUnknown) as write_err:
        client.call("im.message.add", {"DIALOG_ID": 1, "MESSAGE": "x"})
    for exc in (read_err.value, write_err.value):
        assert SECRET not in str(exc) and SECRET not in repr(exc)
        assert exc.__cause__ is None and exc.__suppress_context__  # the raw requests error is not chained
        assert "/rest/7/***/" in str(exc)
    assert caplog.records and all(SECRET not in r.getMessage() for r in caplog.records)
    assert SECRET not in repr(client)


def test_html_body_echoing_the_url_is_masked(rsps, make_client):
    rsps.post(url("user.current"), status=404, body=f"<html>Not found: /rest/7/{SECRET}/user.current</html>")
    with pytest.raises(TransportError) as info:
        make_client(max_attempts=1).call("user.current")
    assert SECRET not in str(info.value)


def test_secret_registered_for_log_masking():
    from b24mirror.cli.logsetup import mask
    BitrixClient(WEBHOOK).close()
    assert SECRET not in mask(f"something mentioned {SECRET} bare")
