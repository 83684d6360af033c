"""The start note's token: no mirror marker, trusted only as our own user's one token, inert when quoted."""
from datetime import datetime, timezone

from b24mirror.policy.models import MasterComment, find_markers
from b24mirror.policy.render import defang
from b24mirror.policy.render.startnote import render_start_note, start_token, trusted_starts

ME, ANNA = 7, 8
SINCE = datetime(2026, 7, 1, 9, 30, tzinfo=timezone.utc)


def note(language="en", flavour="forum") -> str:
    return render_start_note(group_id=42, since=SINCE, target_id=101, target_group_id=42,
                             portal_url="https://portal.example", language=language, flavour=flavour)


def comment(text: str, author: int = ME, markers=()) -> MasterComment:
    return MasterComment(id=1, author_id=author, date="2026-07-01T09:30:00+00:00", text=text, markers=markers)


def test_the_token_is_no_mirror_marker_and_carries_the_baseline():
    assert start_token(42, SINCE) == f"b24m:start:42~since={int(SINCE.timestamp())}"
    assert find_markers(note()) == []
    assert trusted_starts([comment(note())], ME) == [(int(SINCE.timestamp()), comment(note()))]


def test_the_note_speaks_the_lanes_language_in_its_world():
    assert "01.07.2026 09:30 this task receives" in note("en")
    assert "с 01.07.2026 09:30 в эту задачу приходят" in note("ru")
    assert note(flavour="chat").startswith("[url=") and note().startswith("[URL=")


def test_only_our_own_single_token_counts():
    token = start_token(42, SINCE)
    assert trusted_starts([comment(token, author=ANNA)], ME) == []  # a person's paste
    assert trusted_starts([comment(f"{token} {start_token(42, datetime(2020, 1, 1, tzinfo=timezone.utc))}")], ME) == []
    mirror = find_markers("b24m:comment:5:6")
    in_a_mirror = comment(f"b24m:comment:5:6 {token}", markers=tuple(mirror))  # a person's paste quoted
    assert trusted_starts([in_a_mirror], ME) == []
    assert trusted_starts([comment(defang(token))], ME) == []  # quoted text is defanged
