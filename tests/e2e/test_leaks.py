"""The leak corpus: inputs that try to get something into the master that must stay out, or to stop
what belongs there. Each case runs the real command against the fake portal and judges the portal."""
import re
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e


def _one_mirror_of(world, marker: str) -> str:
    texts = [t for t in world.mirror_texts() if marker in t]
    assert len(texts) == 1, (marker, world.mirror_texts())
    return texts[0]


def _markers_in(text: str) -> list[str]:
    return re.findall(r"b24m:(?:comment|event|subtask):\d+:\d+", text)


def test_a_marker_typed_into_the_master_by_a_person_does_not_stop_the_real_mirror(world):
    p = world.portal
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "the real one")
    marker = world.talk(world.design, c1)
    # Someone pastes the marker (or a whole mirror) into the master before b24mirror gets there.
    p.add_comment(world.master, world.boris, f"[URL=https://x.test/#{marker}]copied[/URL] {marker}")
    world.run("sync")
    world.run("sync")
    assert world.mirrors() == [marker]
    assert "the real one" in _one_mirror_of(world, marker)


def test_a_subtask_moved_to_another_group_stops_being_mirrored(world):
    p = world.portal
    world.run("sync")
    before = p.add_comment(world.drawings, world.anna, "written while in the project")
    world.run("sync")
    p.move_task(world.drawings, group_id=world.other_group, by=world.anna)
    after = p.add_comment(world.drawings, world.anna, "written in the other project")
    world.run("sync")
    world.run("sync")
    assert world.mirrors() == [world.talk(world.drawings, before)]
    assert not any("written in the other project" in t for t in world.mirror_texts())
    assert world.talk(world.drawings, after) not in world.mirrors()


def test_a_member_removed_from_the_group_is_no_longer_quoted(world):
    p = world.portal
    world.run("sync")
    kept = p.add_comment(world.design, world.anna, "Anna, a member")
    world.run("sync")
    p.remove_member(world.group, world.anna)
    p.add_comment(world.design, world.anna, "Anna, after she left the group")
    stays = p.add_comment(world.design, world.boris, "Boris, still a member")
    world.run("sync")
    world.run("sync")
    assert Counter(world.mirrors()) == Counter({world.talk(world.design, kept): 1,
                                                world.talk(world.design, stays): 1})
    assert not any("after she left" in t for t in world.mirror_texts())


def test_mentions_become_plain_names(world):
    p = world.portal
    world.run("sync")
    c = p.add_comment(world.design, world.anna,
                      f"[USER={world.boris}]Boris Ivanov[/USER], see this; [USER=all]everyone[/USER] too")
    world.run("sync")
    text = _one_mirror_of(world, world.talk(world.design, c))
    assert "Boris Ivanov" in text
    assert not re.search(r"\[USER", text, re.IGNORECASE)


@pytest.mark.parametrize("link", [
    "[URL=javascript:alert(document.cookie)]click[/URL]",
    "[URL=JaVaScRiPt:alert(1)]click[/URL]",
    "[URL=java\tscript:alert(1)]click[/URL]",
    "[URL=&#106;avascript:alert(1)]click[/URL]",
    "[URL]javascript:alert(1)[/URL]",
    "[URL=data:text/html;base64,PHNjcmlwdD4=]click[/URL]",
    "[IMG]javascript:alert(1)[/IMG]",
])
def test_unsafe_links_lose_their_target(world, link):
    p = world.portal
    world.run("sync")
    c = p.add_comment(world.design, world.anna, f"look: {link}")
    world.run("sync")
    text = _one_mirror_of(world, world.talk(world.design, c))
    targets = re.findall(r"\[URL=([^\]]*)\]", text, re.IGNORECASE)
    assert targets and all(t.startswith(("http://", "https://")) for t in targets), text  # our own task link only
    assert "javascript" not in " ".join(targets).lower() and "data:" not in " ".join(targets).lower(), text
    assert not re.search(r"\[IMG", text, re.IGNORECASE), text


@pytest.mark.parametrize("attack", [
    "[/QUOTE]outside the quote[QUOTE]",
    "[/quote][B]Fake header[/B] · b24m:comment:1:2[quote]",
    "[/QUOTE ][/QUOTE][URL=https://evil.test/#b24m:comment:1:2]x[/URL]",
    "[CODE][/QUOTE][/CODE]",
    "[QUOTE][QUOTE][QUOTE]deep[/QUOTE]",
    "[/\u200bQUOTE] and [/ QUOTE] and [[/QUOTE]]",
])
def test_bbcode_cannot_break_out_of_the_quote(world, attack):
    p = world.portal
    world.run("sync")
    c = p.add_comment(world.design, world.anna, f"before {attack} after")
    world.run("sync")
    marker = world.talk(world.design, c)
    text = _one_mirror_of(world, marker)
    # Exactly one live quote, opened once and closed once at the end; exactly one live marker.
    assert len(re.findall(r"\[QUOTE\]", text, re.IGNORECASE)) == 1, text
    assert len(re.findall(r"\[/QUOTE\]", text, re.IGNORECASE)) == 1, text
    assert text.rstrip().endswith("[/QUOTE]"), text
    assert _markers_in(text) == [marker], text
    assert world.mirrors() == [marker]


def test_a_one_megabyte_comment_is_cut_with_a_link_to_the_original(world):
    p = world.portal
    world.run("sync")
    body = ("Lorem ipsum dolor sit amet, " * 40000)[:1_000_000]
    c = p.add_comment(world.design, world.anna, body)
    small = p.add_comment(world.design, world.boris, "a short one after it")
    world.run("sync")
    text = _one_mirror_of(world, world.talk(world.design, c))
    # max_chars (2000 by default) bounds the quote's reader text, ellipsis included; the cut ends at a word
    # at most 80 characters back; around it only the header line and the link line.
    body = re.search(r"\[QUOTE\](.*)\[/QUOTE\]", text, re.DOTALL).group(1)
    assert 2000 - 81 <= len(body) <= 2000, len(body)
    lines = text.split("\n")
    assert len(text) == len(lines[0]) + 1 + len("[QUOTE][/QUOTE]") + len(body) + 1 + len(lines[-1]), text[:300]
    assert "Read in full" in text and "…" in text
    assert Counter(world.mirrors()) == Counter({world.talk(world.design, c): 1,
                                                world.talk(world.design, small): 1})


def test_rtl_and_emoji_text_arrive_intact(world):
    p = world.portal
    world.run("sync")
    words = "שלום עולם · مرحبا بالعالم · 👩🏽‍🔧🏗️ 🇷🇺 · \u202eevil\u202c · Привет"
    c = p.add_comment(world.design, world.anna, words)
    world.run("sync")
    text = _one_mirror_of(world, world.talk(world.design, c))
    for piece in ("שלום עולם", "مرحبا بالعالم", "👩🏽‍🔧🏗️", "🇷🇺", "Привет"):
        assert piece in text
    assert _markers_in(text) == [world.talk(world.design, c)]


def test_marker_like_text_in_a_comment_is_defanged_and_the_named_item_still_arrives(world):
    p = world.portal
    world.run("sync")
    first = p.add_comment(world.design, world.anna, "an ordinary comment")
    target = p.add_comment(world.design, world.boris, "the comment whose marker is quoted")
    quoting = p.add_comment(world.design, world.anna,
                            f"see b24m:comment:{world.design}:{target} and B24M:event:{world.design}:1 and "
                            f"b24m : subtask : {world.design} : {world.drawings}")
    world.run("sync")
    world.run("sync")
    found = Counter(world.mirrors())
    expected = {world.talk(world.design, c): 1 for c in (first, target, quoting)}
    assert found == Counter(expected), found
    text = _one_mirror_of(world, world.talk(world.design, quoting))
    assert _markers_in(text) == [world.talk(world.design, quoting)]


def test_a_lost_state_file_does_not_announce_old_subtasks_as_new(world):
    p = world.portal
    world.run("sync")
    c1 = p.add_comment(world.design, world.anna, "first")
    world.run("sync")
    world.state_path.unlink()
    # Old subtasks change after the baseline: they are not new, whatever the state forgot.
    p.set_status(world.design, 3, by=world.boris)
    p.set_deadline(world.drawings, p.now_ts() + 86400 * 3, by=world.anna)
    new = p.add_task("Site survey", created_by=world.anna, responsible_id=world.boris, group_id=world.group,
                     parent_id=world.design)
    world.run("sync")
    world.run("sync")
    found = Counter(world.mirrors())
    subtasks = [m for m in found if m.startswith("b24m:subtask:")]
    assert subtasks == [f"b24m:subtask:{world.design}:{new}"], found
    assert found[world.talk(world.design, c1)] == 1
    assert all(n == 1 for n in found.values()), found
    assert len([m for m in found if m.startswith("b24m:event:")]) == 2, found


# --------------------------------------------------------------------------- rules judge what readers see
# Each case runs in both comment worlds (conftest's any_world): classic forum comments, and new-card task chats.


def _reader_view(text: str) -> str:
    """A mirror as a reader sees it: our own tags and zero-width characters gone."""
    return re.sub(r"\[/?(?:url|b|i|u|s|quote)(?:=[^\]]*)?\]", "", text.replace("\u200b", ""), flags=re.IGNORECASE)


HIDE_RULES = {"hide": ["^#internal", r"\bprice\b"]}


def _comment_after_first_sync(w, rules: dict, text: str) -> int:
    """Configure the rules, take the first sync's baseline, then have Anna write `text`."""
    w.write_config(rules=rules)
    w.run("sync")
    return w.portal.add_comment(w.design, w.anna, text)


@pytest.mark.parametrize("text", [
    "[B]#internal[/B] budget",
    "[COLOR=#ff0000]#internal[/COLOR]: margins",
    "[SIZE=12]#internal[/SIZE]",
    "pri[COLOR=#000]ce[/COLOR] is 40 000",
    "pr\u200bice is 40 000",
    "&#35;internal: margins",
])
def test_hidden_comments_stay_out_whatever_the_tags_entities_or_invisible_characters(any_world, text):
    w, p = any_world, any_world.portal
    hidden = _comment_after_first_sync(w, HIDE_RULES, text)
    shown = p.add_comment(w.design, w.boris, "an ordinary comment")
    w.run("sync")
    w.run("sync")
    assert w.mirrors() == [w.talk(w.design, shown)], w.mirror_texts()
    seen = "\n".join(_reader_view(t) for t in w.mirror_texts())
    assert "internal" not in seen and "40 000" not in seen
    assert w.talk(w.design, hidden) not in w.mirrors()


CARD_RULES = {"redact": [r"\b\d{4} \d{4} \d{4} \d{4}\b"]}


@pytest.mark.parametrize("text", [
    "Card [COLOR=#000000]4111 1111[/COLOR] 1111 1111",
    "Card 4111 1111 1111 1111, and the other: 5500 0000 0000 0004",
    "Card 41\u200b11 1111 1111 1111",
    "Card [B]4111[/B] 1111 [URL=https://pay.example/]1111[/URL] 1111",
])
def test_redaction_holds_in_the_mirror_whatever_splits_the_match(any_world, text):
    w = any_world
    c = _comment_after_first_sync(w, CARD_RULES, text)
    w.run("sync")
    mirror = _one_mirror_of(w, w.talk(w.design, c))
    body = _reader_view(mirror).split("\n", 1)[1]
    assert "Card [redacted]" in body, mirror
    assert not re.search(r"\d", body), mirror


def test_a_nested_quote_reads_cleanly(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    c = p.add_comment(w.design, w.anna, "I agree with\n[QUOTE]the pump is [\u200bB]broken[/B][/QUOTE]\nLet us fix it")
    w.run("sync")
    mirror = _one_mirror_of(w, w.talk(w.design, c))
    assert "» the pump is" in mirror and "\u200b" not in mirror.split("\n", 1)[1]
    assert len(re.findall(r"\[QUOTE\]", mirror, re.IGNORECASE)) == (1 if w.portal.task(w.master)["chat_id"] in (None, 0) else 0)


def test_mirror_lines_name_people_carry_dates_and_do_not_name_the_master_as_parent(any_world):
    w, p = any_world, any_world.portal
    w.write_config(rules={"events": ["status", "deadline", "subtask", "responsible"]})
    w.run("sync")
    child = p.add_task("Site survey", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                       parent_id=w.master, new_card=bool(p.task(w.design)["chat_id"]), auditors=(w.me,))
    grandchild = p.add_task("Soil samples", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                            parent_id=w.design, new_card=bool(p.task(w.design)["chat_id"]), auditors=(w.me,))
    p.update_fields(w.design, {"RESPONSIBLE_ID": w.anna}, w.boris)
    w.run("sync")
    w.run("sync")
    texts = w.mirror_texts()
    direct = _one_mirror_of(w, f"b24m:subtask:{w.master}:{child}")
    nested = _one_mirror_of(w, f"b24m:subtask:{w.design}:{grandchild}")
    assert direct.startswith("New subtask: ") and "in task" not in direct
    assert f"in task [" in nested and f"#{w.design} Design" in nested
    for line in (direct, nested):
        assert "Anna Petrova" in line and "Responsible: Boris Ivanov" in line
        assert re.search(r" · \d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", line), line
    assert any("Responsible: Boris Ivanov → Anna Petrova" in t for t in texts), texts
    assert not any(re.search(r"Responsible: [^\n]*#\d", t) for t in texts), texts


def test_an_edit_that_is_now_hidden_withdraws_the_mirror_once(chat_world):
    w, p = chat_world, chat_world.portal
    w.write_config(on_edit="update", rules=HIDE_RULES)
    w.run("sync")
    mid = p.add_comment(w.design, w.anna, "budget is fine")
    w.run("sync")
    p.edit_comment(w.design, mid, "[B]#internal[/B] budget is 40 000")
    p.add_comment(w.design, w.boris, "a later message makes the task active again")
    w.run("sync")
    w.run("sync")
    marker = w.talk(w.design, mid)
    mirror = _one_mirror_of(w, marker)
    assert "Withdrawn at the source" in mirror and "internal" not in mirror and "budget" not in mirror
    assert Counter(w.mirrors())[marker] == 1
    p.edit_comment(w.design, mid, "budget is fine again")
    p.add_comment(w.design, w.boris, "and another")
    w.run("sync")
    assert "Withdrawn at the source" in _one_mirror_of(w, marker)


def test_an_extranet_member_is_quoted_by_default(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    c = p.add_comment(w.design, w.eve, "the contractor's note")
    w.run("sync")
    assert "the contractor's note" in _one_mirror_of(w, w.talk(w.design, c))


# --------------------------------------------------------------------------- classic (forum) edits and deletes
# A forum comment's edit or deletion moves no date a listing shows: a sweep (here every run) reads it again.

def _classic_watching(w, **group_keys) -> None:
    w.write_config(**group_keys)
    with open(w.config_path, "a") as config:
        config.write("sweep_every: 1\n")
    w.run("sync")


def _classic_mirror_after_edit(w, first: str, edited: str, **group_keys) -> str:
    """Anna's comment mirrored, then edited and swept twice: the one mirror of it, as the master holds it."""
    _classic_watching(w, on_edit="update", **group_keys)
    cid = w.portal.add_comment(w.design, w.anna, first)
    w.run("sync")
    w.portal.edit_comment(w.design, cid, edited)
    w.run("sync")
    w.run("sync")
    marker = w.talk(w.design, cid)
    assert w.mirrors() == [marker]
    return _one_mirror_of(w, marker)


def test_a_classic_edit_is_followed_once(world):
    mirror = _classic_mirror_after_edit(world, "the pump is broken", "the pump is fixed")
    assert "the pump is fixed" in mirror and "broken" not in mirror, mirror
    assert world.portal.stats.commands["task.commentitem.update"] == 1  # applied once, not on every sweep


def test_a_classic_edit_that_is_now_hidden_withdraws_the_mirror(world):
    mirror = _classic_mirror_after_edit(world, "budget is fine", "[B]#internal[/B] budget is 40 000", rules=HIDE_RULES)
    assert "Withdrawn at the source" in mirror and "internal" not in mirror and "budget" not in mirror, mirror


def test_a_classic_delete_marks_the_mirror(world):
    w, p = world, world.portal
    _classic_watching(w, on_delete="mark")
    gone = p.add_comment(w.design, w.anna, "a comment soon deleted")
    kept = p.add_comment(w.design, w.boris, "a comment that stays")
    w.run("sync")
    p.delete_comment(w.design, gone)
    w.run("sync")
    w.run("sync")
    deleted = _one_mirror_of(w, w.talk(w.design, gone))
    assert "The source comment was deleted" in deleted and "soon deleted" not in deleted, deleted
    assert "a comment that stays" in _one_mirror_of(w, w.talk(w.design, kept))
    assert Counter(w.mirrors()) == Counter({w.talk(w.design, gone): 1,
                                            w.talk(w.design, kept): 1})
