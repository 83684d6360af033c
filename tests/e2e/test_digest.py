"""End-to-end: digest mode. New items are held and posted as one comment per period, with one marker per item."""
import json
from collections import Counter

import pytest

from b24mirror.policy.models import find_markers
from b24mirror.state import read_state

pytestmark = pytest.mark.e2e

HOUR = 3600


def our_comments(world) -> list[str]:
    """Our comments in the master but the first sync's start note (tests/e2e/test_start_note.py)."""
    return [c["text"] for c in world.portal.comments(world.master)
            if c["author_id"] == world.me and "b24m:start:" not in c["text"]]


def digests(world) -> list[str]:
    return [text for text in our_comments(world) if "#b24m-digest:" in text]


def sync_json(world) -> dict:
    return json.loads(world.run("sync", "--json").stdout)["groups"][0]


def test_a_period_of_items_from_several_subtasks_is_posted_once_as_one_digest(world):
    p = world.portal
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "Design review done")
    p.advance(60)
    c2 = p.add_comment(world.drawings, world.boris, "Drawings uploaded")
    p.advance(60)
    c3 = p.add_comment(world.design, world.boris, "One more design note")
    report = sync_json(world)
    assert our_comments(world) == []  # held, not posted
    assert report["digest"]["held"] == 3 and report["digest"]["due"]
    assert sync_json(world)["digest"]["held"] == 3  # held once, however often it is planned again
    state = read_state(world.state_path).to_dict()["groups"][str(world.group)]
    assert state["meta"]["pending"] == []  # held items wait in the state, not as tasks read again every run

    p.advance(HOUR)
    result = world.run("sync")
    world.run("sync")
    assert len(our_comments(world)) == 1
    [digest] = digests(world)
    expected = [f"b24m:comment:{world.design}:{c1}", f"b24m:comment:{world.design}:{c3}",
                f"b24m:comment:{world.drawings}:{c2}"]
    assert [str(m) for m in find_markers(digest)] == expected  # grouped by subtask, oldest first
    assert Counter(world.mirrors()) == Counter(expected)
    for text in ("Design review done", "Drawings uploaded", "One more design note", "Anna Petrova"):
        assert text in digest
    assert "held for the digest" not in result.stderr


def test_urgent_kinds_are_posted_at_once_and_the_rest_waits(world):
    p = world.portal
    world.write_config(digest={"every": "1h", "now": ["completed"]})
    world.run("sync")
    comment = p.add_comment(world.design, world.anna, "Routine note")
    p.set_status(world.drawings, 5, by=world.boris)
    result = world.run("sync")
    texts = our_comments(world)
    assert len(texts) == 1 and not digests(world)
    assert [m.kind for m in find_markers(texts[0])] == ["event"]  # the completion, alone, as today
    assert "1 held for the digest due" in result.stderr
    p.advance(HOUR)
    world.run("sync")
    assert [str(m) for m in find_markers(digests(world)[0])] == [f"b24m:comment:{world.design}:{comment}"]


def test_a_lost_answer_to_the_digest_post_neither_doubles_nor_loses_it(world):
    p = world.portal
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    ids = [p.add_comment(world.design, world.anna, f"note {n}") for n in range(3)]
    world.run("sync")
    p.advance(HOUR)
    p.faults.add("lost_response", method="batch", contains="task.commentitem.add", count=1)
    world.run("sync", check=False)
    world.run("sync")
    world.run("sync")
    assert len(digests(world)) == 1
    assert Counter(world.mirrors()) == Counter(f"b24m:comment:{world.design}:{i}" for i in ids)


def test_a_lost_state_during_a_digest_finds_the_held_items_again(world):
    p = world.portal
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    first = [p.add_comment(world.design, world.anna, f"posted in the first digest ({n})") for n in range(2)]
    world.run("sync")
    p.advance(HOUR)
    world.run("sync")
    assert len(digests(world)) == 1
    held = [p.add_comment(world.drawings, world.boris, "held when the state was lost"),
            p.add_comment(world.design, world.anna, "also held")]
    assert sync_json(world)["digest"]["held"] == 2
    world.state_path.unlink()
    world.run("sync")
    assert len(digests(world)) == 1  # found again and held again, not posted early
    p.advance(HOUR)
    world.run("sync")
    world.run("sync")
    assert len(digests(world)) == 2
    expected = [*(f"b24m:comment:{world.design}:{i}" for i in first), f"b24m:comment:{world.drawings}:{held[0]}",
                f"b24m:comment:{world.design}:{held[1]}"]
    assert Counter(world.mirrors()) == Counter(expected)


def test_a_digest_with_markers_pasted_by_a_person_stays_untrusted(world):
    p = world.portal
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "to be mirrored")
    world.run("sync")
    # A person copies a digest-looking text with the marker into the master: it must not stand for the item.
    p.add_comment(world.master, world.anna, f"[URL=/x/#b24m-digest:1]Digest[/URL] b24m:comment:{world.design}:{c1}")
    p.advance(HOUR)
    world.run("sync")
    assert len(digests(world)) == 1  # ours, beside the person's paste
    assert Counter(world.mirrors()) == Counter({f"b24m:comment:{world.design}:{c1}": 1})


def test_audit_reads_a_digests_markers_and_finds_nothing_missing(world):
    p = world.portal
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    for task in (world.design, world.drawings):
        p.add_comment(task, world.anna, f"news on {task}")
    world.run("sync")
    p.advance(HOUR)
    world.run("sync")
    assert len(digests(world)) == 1
    audit = json.loads(world.run("audit", "--json").stdout)
    assert audit["groups"][0]["counts"]["missing"] == 0 and audit["groups"][0]["counts"]["duplicated"] == 0
    world.state_path.unlink()  # and with no state to help it
    audit = json.loads(world.run("audit", "--json").stdout)
    assert audit["groups"][0]["counts"]["missing"] == 0
