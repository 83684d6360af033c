"""Shared helpers for the bitrix client tests."""
import json

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError


SECRET = "s3cr3tw3bh00k"
WEBHOOK = f"https://example.bitrix24.ru/rest/7/{SECRET}/"


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def url(method: str) -> str:
    return WEBHOOK + method


def ok(result, **extra):
    body = {"result": result, "time": {"start": 1.0, "finish": 1.1, "operating": 0, "operating_reset_at": 1_700_000_600}}
    body.update(extra)
    return body


def err(code, description="", status=400):
    return {"json": {"error": code, "error_description": description}, "status": status}


def refused():
    """What requests raises when nothing listens on the port: provably not sent."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.exceptions.ConnectionError(MaxRetryError(None, f"/rest/7/{SECRET}/x", reason))


def reset_after_sending():
    reason = ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    return requests.exceptions.ConnectionError(reason)


def body_of(call) -> dict:
    return json.loads(call.request.body)
