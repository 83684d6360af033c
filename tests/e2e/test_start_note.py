"""End-to-end: the baseline is on the portal before the first mirror.

A lane's first sync posts one start note into its target, carrying the baseline (`b24m:start:G~since=`). A state
lost before any mirror exists then resumes from it, as from the markers of mirrors: what was written between
the first sync and the loss is mirrored, once. Judged by the portal's data, in both worlds.
"""
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e

HOUR = 3600


def start_notes(w) -> list[str]:
    return [c["text"] for c in w.portal.comments(w.master) if c["author_id"] == w.me and "b24m:start:" in c["text"]]


def post_method(w) -> str:
    return "im.message.add" if w.portal.tasks[w.master].chat_id else "task.commentitem.add"


def test_a_comment_written_before_the_state_was_lost_is_mirrored_once(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    [note] = start_notes(w)
    assert f"b24m:start:{w.group}~since=" in note and "this task receives the comments and events" in note
    assert w.mirrors() == []
    comment = p.add_comment(w.design, w.anna, "written while the state was still there")
    w.state_path.unlink()
    audit = w.run("audit", check=False)  # no state: when mirroring began is read off the start note
    assert audit.returncode == 1 and w.talk(w.design, comment) in audit.stdout, audit.stdout + audit.stderr
    w.run("sync")
    w.run("sync")
    assert Counter(w.mirrors()) == Counter({w.talk(w.design, comment): 1})
    assert len(start_notes(w)) == 1


def test_a_digest_groups_first_period_survives_a_lost_state(any_world):
    w, p = any_world, any_world.portal
    w.write_config(digest={"every": "1h"}, language="ru")
    w.run("sync")
    [note] = start_notes(w)
    assert "в эту задачу приходят комментарии и события подзадач" in note
    held = p.add_comment(w.design, w.anna, "held for the first digest")
    w.run("sync")
    assert w.mirrors() == []  # held, not posted
    w.state_path.unlink()  # lost before the digest went out
    p.advance(HOUR)
    w.run("sync")
    p.advance(HOUR)
    w.run("sync")
    assert Counter(w.mirrors()) == Counter({w.talk(w.design, held): 1})
    assert len(start_notes(w)) == 1


def test_the_start_note_is_posted_once_and_not_by_a_dry_run(any_world):
    w = any_world
    dry = w.run("sync", "--dry-run")
    assert "would post the start note" in dry.stderr
    assert start_notes(w) == [] and not w.state_path.exists()
    w.run("sync")
    w.run("sync")
    assert len(start_notes(w)) == 1
    w.state_path.unlink()  # lost with no mirror in the target: the note is found, not posted again
    resumed = w.run("sync")
    assert "resumed from the target's own mirrors and start note" in resumed.stderr
    w.run("sync")
    assert len(start_notes(w)) == 1


def test_a_persons_pasted_start_token_moves_no_baseline(any_world):
    w, p = any_world, any_world.portal
    old = p.add_comment(w.design, w.anna, "before the first sync: never mirrored")
    p.advance(HOUR)
    w.run("sync")
    pasted = f"mirrored since b24m:start:{w.group}~since=1, see the master"
    p.add_comment(w.master, w.anna, pasted)  # in the target itself: not our user's
    quoted = p.add_comment(w.design, w.anna, pasted)  # mirrored by our user: the token defanged in the quote
    w.run("sync")
    w.state_path.unlink()
    w.run("sync")
    assert Counter(w.mirrors()) == Counter({w.talk(w.design, quoted): 1})
    assert w.talk(w.design, old) not in w.mirrors()


def test_a_refused_start_note_is_tried_again_next_run(any_world):
    w, p = any_world, any_world.portal
    p.faults.refuse(post_method(w), "b24m:start:", message="Access denied")
    refused = w.run("sync")
    assert p.faults.refused == 1
    assert "start note was refused" in refused.stderr and start_notes(w) == []
    p.faults.refusals.clear()
    w.run("sync")
    w.run("sync")
    assert len(start_notes(w)) == 1


def test_a_start_note_whose_answer_is_lost_is_read_back_not_posted_twice(any_world):
    w, p = any_world, any_world.portal
    p.faults.add("lost_response", method="batch", count=1, contains=post_method(w))  # the first sync's one post
    lost = w.run("sync", check=False)
    assert p.stats.faults_by_kind["lost_response"] == 1
    assert "answered with nothing" in lost.stderr, lost.stderr
    assert len(start_notes(w)) == 1  # it landed
    w.run("sync")
    w.run("sync")
    assert len(start_notes(w)) == 1


def test_no_note_follows_once_a_mirror_carries_the_baseline(any_world):
    w, p = any_world, any_world.portal
    p.faults.refuse(post_method(w), "b24m:start:", message="Access denied")
    w.run("sync")
    comment = p.add_comment(w.design, w.anna, "the first mirror")
    w.run("sync")
    assert p.faults.refused == 1  # only the first sync tried: the mirror carries the baseline since
    p.faults.refusals.clear()
    w.run("sync")
    assert start_notes(w) == [] and w.mirrors() == [w.talk(w.design, comment)]


def test_a_lost_state_resumes_from_the_mirrors_baseline_when_a_person_deleted_the_start_note(any_world):
    """The baseline rides on every mirror's marker as well: with the note gone, a comment held back by
    `max_posts` (written before the first mirror was posted) still comes after a lost state."""
    w, p = any_world, any_world.portal
    w.write_config(max_posts=1)
    w.run("sync")
    [note_id] = [c["id"] for c in p.comments(w.master) if c["author_id"] == w.me and "b24m:start:" in c["text"]]
    first = p.add_comment(w.design, w.anna, "posted in the first run that mirrors")
    held = p.add_comment(w.design, w.boris, "held back by max_posts")
    w.run("sync")
    assert w.mirrors() == [w.talk(w.design, first)]
    p.delete_comment(w.master, note_id)  # a person tidies the master up
    w.state_path.unlink()
    w.run("sync")
    w.run("sync")
    assert Counter(w.mirrors()) == Counter({w.talk(w.design, first): 1, w.talk(w.design, held): 1})
    assert start_notes(w) == []  # the baseline is on the mirrors: no second note
