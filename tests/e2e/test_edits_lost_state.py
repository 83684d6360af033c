"""End-to-end: an edit made while the state was lost is still followed (`on_edit: update`), once.

A forum comment carries no edit flag, and a lost state remembers no hash of what was mirrored: the run after
it compares each mirror in the master with what it would post now for its source, on the part the source
decides (its text and file names), never the header (a task retitled or a person renamed since is not an
edit). A chat message's edit flag stays set for good: the same comparison keeps a message edited (and
followed) before the loss from being rewritten again. Judged by the master's comments and the portal's
count of update calls.
"""
from collections import Counter

import pytest

from tests.e2e.conftest import build_world

pytestmark = pytest.mark.e2e

UPDATES = ("task.commentitem.update", "im.message.update")


def _updates(p) -> int:
    return sum(p.stats.commands[method] for method in UPDATES)


def _text_of(w, marker: str) -> str:
    [text] = [t for t in w.mirror_texts() if marker in t]
    return text


@pytest.mark.parametrize("card", ["classic", "chat"])
def test_an_edit_while_the_state_was_lost_is_followed_once_and_nothing_else_is_rewritten(tmp_path, card):
    w = build_world(tmp_path, new_card=card == "chat")
    p = w.portal
    w.write_config(on_edit="update")
    with open(w.config_path, "a") as config:
        config.write("sweep_every: 1\n")  # a forum edit moves no date a listing shows: every run sweeps
    w.run("sync")
    ids = {name: p.add_comment(w.drawings, w.anna, f"{name}: first wording",
                               attachments=["scan.pdf"] if name == "kept" else None)
           for name in ("edited", "kept", "followed")}
    marker = {name: w.talk(w.drawings, cid) for name, cid in ids.items()}
    w.run("sync")
    p.edit_comment(w.drawings, ids["followed"], "followed: edited while the state was kept")
    w.run("sync")
    assert "edited while the state was kept" in _text_of(w, marker["followed"])
    before = {name: _text_of(w, m) for name, m in marker.items()}

    w.state_path.unlink()
    p.edit_comment(w.drawings, ids["edited"], "edited: second wording")
    p.users[w.anna].last_name = "Sokolova"  # renamed, and the subtask retitled: headers are not edits
    p.set_field(w.drawings, "TITLE", "Drawings, final")
    p.add_comment(w.design, w.boris, "news elsewhere")
    p.reset_stats()
    w.run("sync")
    after = {name: _text_of(w, m) for name, m in marker.items()}
    assert "edited: second wording" in after["edited"] and "first wording" not in after["edited"], after["edited"]
    assert after["kept"] == before["kept"] and after["followed"] == before["followed"]
    assert _updates(p) == 1
    assert Counter(w.mirrors())[marker["edited"]] == 1 and len(w.mirrors()) == len(set(w.mirrors()))

    p.reset_stats()
    w.run("sync")
    w.run("sync")
    assert _updates(p) == 0 and _text_of(w, marker["edited"]) == after["edited"]
    p.edit_comment(w.drawings, ids["kept"], "kept: edited after the state was rebuilt")
    w.run("sync")
    assert "edited after the state was rebuilt" in _text_of(w, marker["kept"]) and _updates(p) == 1
    w.server.shutdown()


def test_after_the_card_switch_a_lost_state_leaves_the_masters_forum_mirrors_alone(world):
    """Their flavour is the forum's, not the chat's sync would write now, and no method may rewrite them: compared
    anyway, every one of them would be 'edited' and warned about on the run after the loss."""
    w, p = world, world.portal
    w.write_config(on_edit="update")
    w.run("sync")
    forum = f"b24m:comment:{w.design}:{p.add_comment(w.design, w.anna, 'forum: before the switch')}"
    w.run("sync")
    p.switch_to_new_card(w.group)
    p.open_card(p.tasks[w.master])  # someone opens the master: its chat (under on_get, the sync's read would)
    p.add_comment(w.design, w.anna, "chat: after the switch")
    w.run("sync")
    w.state_path.unlink()
    p.reset_stats()
    result = w.run("sync")
    assert "left as it is" not in result.stdout + result.stderr, result.stdout
    assert _updates(p) == 0 and Counter(w.mirrors())[forum] == 1 and len(w.mirrors()) == len(set(w.mirrors()))
