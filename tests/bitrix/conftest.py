import random

import pytest
import responses as responses_lib

from b24mirror.bitrix import BitrixClient

from .helpers import WEBHOOK, FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_client(clock):
    made = []

    def make(**kw):
        kw.setdefault("rate", None)
        kw.setdefault("clock", clock)
        kw.setdefault("sleep", clock.sleep)
        kw.setdefault("rng", random.Random(1))
        kw.setdefault("wall", lambda: 1_700_000_000.0 + clock.now)
        webhook = kw.pop("webhook", WEBHOOK if "oauth" not in kw else None)
        client = BitrixClient(webhook, **kw)
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def rsps():
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
