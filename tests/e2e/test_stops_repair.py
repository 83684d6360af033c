"""`repair` stopped by SIGINT, SIGTERM or SIGKILL while the portal holds one of its writes: a repost, or
the delete of a duplicate. Whatever the stop, the next `repair` finishes the work and the next `sync`
adds nothing: each mirror once in the master, the ledger naming the one that stands."""
from collections import Counter

import pytest

from b24mirror.state import read_state

from .conftest import stop_while_held
from .test_repair import mirror_ids, repair, synced

pytestmark = pytest.mark.e2e


def _damaged(w) -> tuple[str, str, int]:
    """Two mirrors; a person deletes the first (repair reposts it) and copies the second (repair deletes the
    copy). Returns the two markers and the second's original mirror."""
    first, second = synced(w)
    w.portal.delete_comment(w.master, mirror_ids(w, first)[0])
    [original] = mirror_ids(w, second)
    text = next(c["text"] for c in w.portal.comments(w.master) if c["id"] == original)
    w.portal.add_comment(w.master, w.me, text)
    return first, second, original


# SIGINT and SIGTERM share a handler (a write in flight is recorded before the run stops); SIGKILL leaves
# nothing recorded. Each world's write methods meet a handled signal and a kill.
STOPS = [("classic", "SIGINT"), ("classic", "SIGKILL"), ("chat", "SIGTERM"), ("chat", "SIGKILL")]


@pytest.mark.parametrize("held", ["post", "delete"])
@pytest.mark.parametrize("card,stop", STOPS, ids=[f"{card}-{stop}" for card, stop in STOPS])
def test_a_stopped_repair_is_finished_by_the_next_without_a_duplicate(world_of, card, stop, held):
    w = world_of(card)
    p = w.portal
    first, second, original = _damaged(w)
    chat = p.tasks[w.master].new_card
    if held == "post":  # the repost rides a batch; the delete is a call of its own
        hold = p.faults.add("hold", "batch", count=1, contains="im.message.add" if chat else "task.commentitem.add")
    else:
        hold = p.faults.add("hold", "im.message.delete" if chat else "task.commentitem.delete", count=1)
    err = stop_while_held(w, w.start("repair"), hold, stop)
    if stop != "SIGKILL":  # the repost was recorded before the run stopped, and is said
        assert f"stopped by {stop}: {1 if held == 'post' else 0} posted; the next run goes on" in err, err
    assert mirror_ids(w, second) == [original]  # deleted before the stop, or before the held post
    if held == "post":
        assert len(mirror_ids(w, first)) == 1  # the held post ran: the portal answered it after the signal
    code, report = repair(w)
    assert code == 0, report  # it audits again afterwards: the master is clean
    w.run("sync")
    assert Counter(w.mirrors()) == Counter([first, second]), w.mirror_texts()
    ledger = read_state(w.state_path).to_dict()["groups"][str(w.group)]["ledger"]
    assert [ledger[first]["id"]] == mirror_ids(w, first) and [ledger[second]["id"]] == mirror_ids(w, second)
