"""Time windows in the pure rules: when a digest falls due, and how close to a field change a classic
comment must be to be the portal's own."""
from __future__ import annotations

from datetime import datetime

import pytest

from b24mirror.config.settings import DigestConfig
from b24mirror.policy.digest import HeldItem, due_at
from b24mirror.policy.models import WORLD_CLASSIC, Comment, HistoryEvent, Marker
from b24mirror.policy.rules import mark_service_comments


def held(*times: str) -> list[HeldItem]:
    return [HeldItem(Marker("comment", 5, n + 1), "text", f"2026-12-01T{t}:00+03:00", 5, "A subtask")
            for n, t in enumerate(times)]


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2026-12-01T{hhmm}:00+03:00")


@pytest.mark.parametrize("order", [("10:00", "10:20", "10:50"), ("10:50", "10:00", "10:20")])
def test_a_digest_falls_due_a_period_after_its_oldest_item(order):
    """A steady trickle of items must not hold a digest back: the clock runs from the oldest one."""
    assert due_at(DigestConfig(every=3600), held(*order)) == at("11:00")


def test_a_digest_at_times_of_day_falls_due_at_the_first_time_after_its_oldest_item():
    config = DigestConfig(times=((9, 0), (14, 0)))
    assert due_at(config, held("08:00", "10:00", "13:30")) == at("09:00")


def _change(seconds: int, user: int = 55) -> HistoryEvent:
    return HistoryEvent(id=1, task_id=1, field="STATUS", before="2", after="5",
                        date=f"2026-12-01T10:00:{seconds:02d}+03:00", user_id=user, user_name="")


def _classic(cid: int, date: str, text: str) -> Comment:
    return Comment(id=cid, task_id=1, author_id=55, author_name="", date=date, text=text, world=WORLD_CLASSIC)


@pytest.mark.parametrize("gap, service", [(0, True), (2, True), (3, False), (30, False), (59, False)])
def test_a_classic_comment_is_the_portals_only_within_two_seconds_of_a_change(gap, service):
    """The portal writes its service comment in the same request as the change; a person's comment half
    a minute later, by the same user, is a person's, even while the service count says one is new."""
    change = _change(0)
    comment = _classic(1, f"2026-12-01T10:00:{gap:02d}+03:00", "Done, the report is attached")
    [marked] = mark_service_comments([comment], [change], new_service=1)
    assert marked.system is service
