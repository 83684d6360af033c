"""Runs other than a backfill stopped while the portal holds their write, or with that write's answer lost:
a sweep rewriting an edited mirror, a due digest, the weekly status report. The next plain sync finishes the
work, and the master holds each mirror, digest and report once; a digest's items never come again on their
own. The portal says when the request is held; the test signals, then lets it answer."""
from collections import Counter
from datetime import timedelta

import pytest

from .conftest import stop_while_held
from .test_digest import HOUR, digests
from .test_report import go_to, reported_period, reports

pytestmark = pytest.mark.e2e


ANSWERLESS = {"lost": "lost_response", "reset": "reset"}  # the write ran, or did not; no answer either way


def _arm(w, stop: str, method: str, contains: str):
    """Hold (for a signal) the next request that carries `contains`, or leave it without an answer."""
    return w.portal.faults.add(ANSWERLESS.get(stop, "hold"), method, count=1, contains=contains)


def _stopped(w, stop: str, fault, *args: str) -> None:
    """One run stopped as `stop` says, its fault seen to fire."""
    if stop in ANSWERLESS:
        w.run(*args, check=False)
        assert w.portal.stats.faults_by_kind[ANSWERLESS[stop]] == 1
        w.portal.faults.clear()
    else:
        stop_while_held(w, w.start(*args), fault, stop)


# --------------------------------------------------------------------------- a sweep rewriting edited mirrors

def _mirror_of(w, marker: str) -> list[str]:
    return [c["text"] for c in w.portal.comments(w.master)
            if c["author_id"] == w.me and not c.get("deleted") and w.mirrors_in(c["text"]) == [marker]]


# A reset (the update never ran) tells a client that counts an unanswered update as done from one that does not.
SWEEP_STOPS = [("classic", "SIGTERM"), ("classic", "lost"), ("classic", "reset"), ("chat", "SIGTERM"),
               ("chat", "lost")]


@pytest.mark.parametrize("card,stop", SWEEP_STOPS, ids=[f"{card}-{stop}" for card, stop in SWEEP_STOPS])
def test_a_sweep_stopped_while_rewriting_an_edited_mirror_is_finished_once(world_of, card, stop):
    w = world_of(card)
    w.write_config(on_edit="update")
    with open(w.config_path, "a") as config:
        config.write("sweep_every: 1\n")  # every run a sweep: a forum edit moves no date a listing shows
    w.run("sync")
    ids = [w.portal.add_comment(w.design, w.anna, f"valve {n} is open") for n in range(2)]
    w.run("sync")
    for n, cid in enumerate(ids):
        w.portal.edit_comment(w.design, cid, f"valve {n} is shut")
    update = "im.message.update" if card == "chat" else "task.commentitem.update"
    _stopped(w, stop, _arm(w, stop, update, "valve 0 is shut"), "sync")
    w.run("sync")
    for n, cid in enumerate(ids):
        [text] = _mirror_of(w, w.talk(w.design, cid))
        assert f"valve {n} is shut" in text and "is open" not in text, text
    assert Counter(w.mirrors()) == Counter(w.talk(w.design, cid) for cid in ids)


# --------------------------------------------------------------------------- a due digest

DIGEST_STOPS = [("classic", "SIGINT"), ("classic", "SIGKILL"), ("chat", "SIGTERM"), ("chat", "SIGKILL"),
                ("chat", "lost")]  # a lost answer in the classic world: test_digest.py


@pytest.mark.parametrize("card,stop", DIGEST_STOPS, ids=[f"{card}-{stop}" for card, stop in DIGEST_STOPS])
def test_a_digest_stopped_while_posting_is_posted_once_and_its_items_not_again(world_of, card, stop):
    w = world_of(card)
    w.write_config(digest={"every": "1h"})
    w.run("sync")
    held = [w.portal.add_comment(task, w.anna, f"note {n} for the digest")
            for n, task in enumerate((w.design, w.drawings, w.design))]
    w.run("sync")
    assert w.mirrors() == []  # held
    w.portal.advance(HOUR)
    _stopped(w, stop, _arm(w, stop, "batch", "b24m-digest"), "sync")
    assert len(digests(w)) == 1  # the held post ran: the portal answered it after the signal
    for _ in range(2):
        w.run("sync")
    assert len(digests(w)) == 1, w.mirror_texts()
    expected = [w.talk(task, cid) for task, cid in zip((w.design, w.drawings, w.design), held)]
    assert Counter(w.mirrors()) == Counter(expected), w.mirror_texts()  # in the digest, none on its own


# --------------------------------------------------------------------------- the weekly status report

@pytest.mark.parametrize("card,stop", [("classic", "SIGTERM"), ("classic", "SIGKILL"), ("chat", "SIGINT"),
                                       ("chat", "SIGKILL")])
def test_a_report_stopped_while_posting_is_posted_once(world_of, card, stop):
    w = world_of(card)
    week = reported_period(w)
    w.portal.set_status(w.design, 5, by=w.boris)
    w.run("sync")
    before = len(reports(w))
    go_to(w.portal, week + timedelta(days=7, hours=1))
    _stopped(w, stop, _arm(w, stop, "batch", "b24m-report"), "sync")
    assert len(reports(w)) == before + 1  # the held post ran: the portal answered it after the signal
    for _ in range(2):
        w.run("sync")
    assert len(reports(w)) == before + 1, w.mirror_texts()
