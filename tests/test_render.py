"""Mirror text: layout, languages, flavours, dates, and every safety rule."""
import re
from datetime import timedelta, timezone

import pytest

from b24mirror.policy.models import Attachment, Comment, HistoryEvent, Marker, Task, User, find_markers
from b24mirror.policy.render import (
    STATUS_NAMES,
    ZWSP,
    neutralise,
    redact,
    render_comment,
    render_deleted_note,
    render_event,
    render_subtask,
    render_withdrawn_note,
    safe_url,
    task_url,
)
from b24mirror.config.settings import Rules

PORTAL = "https://portal.example"
MARKER_LIKE = "b24m:comment:1:2"


def make_task(task_id=123, title="Fix the pump", parent_id=100, deadline=None):
    return Task(
        id=task_id, title=title, group_id=42, parent_id=parent_id, status=3, created_by=1, responsible_id=2,
        created_date="2025-07-01T09:00:00+03:00", changed_date="2025-07-15T14:31:00+03:00", deadline=deadline,
    )


def make_comment(text="Done, see the photo", comment_id=456, author="John Smith", date="2025-07-15T14:31:00+02:00",
                 attachments=()):
    return Comment(id=comment_id, task_id=123, author_id=7, author_name=author, date=date, text=text,
                   attachments=attachments)


def make_event(field, before, after, event_id=9, date="2025-06-10T12:00:00+03:00"):
    return HistoryEvent(id=event_id, task_id=123, field=field, before=before, after=after, date=date,
                        user_id=5, user_name="Anna Lee")


def comment_text(text, **kwargs):
    return render_comment(make_task(), make_comment(text), portal_url=PORTAL, **kwargs)


def link_targets(text):
    """Every link target in a rendered text, both BBCode cases and both tag forms."""
    targets = re.findall(r"\[url=([^\]]*)\]", text, flags=re.IGNORECASE)
    targets += re.findall(r"\[url\]([^\[]*)\[/url\]", text, flags=re.IGNORECASE)
    return targets


# --------------------------------------------------------------------------- urls and layout


def test_task_url_with_and_without_marker():
    assert task_url(PORTAL + "/", 123, Marker("comment", 123, 456), group_id=42) == (
        f"{PORTAL}/workgroups/group/42/tasks/task/view/123/#b24m:comment:123:456"
    )
    assert task_url(PORTAL, 123, group_id=42) == f"{PORTAL}/workgroups/group/42/tasks/task/view/123/"


def test_comment_forum_layout():
    text = comment_text("Done, see the photo")
    first, quote = text.split("\n")[:2]
    assert first == (
        f"[URL={PORTAL}/workgroups/group/42/tasks/task/view/123/#b24m:comment:123:456]#123 Fix the pump[/URL]"
        " · [B]John Smith[/B] · 15.07.2025 14:31"
    )
    assert quote == "[QUOTE]Done, see the photo[/QUOTE]"
    assert find_markers(text) == [Marker("comment", 123, 456)]


def test_comment_chat_layout_uses_chat_bbcode_and_quote_lines():
    text = comment_text("line one\nline [b]two[/b]", flavour="chat")
    lines = text.split("\n")
    assert lines[0].startswith(f"[url={PORTAL}/workgroups/group/42/tasks/task/view/123/#b24m:comment:123:456]")
    assert "[b]John Smith[/b]" in lines[0]
    assert lines[1:] == [">>line one", ">>line [b]two[/b]"]
    assert "[QUOTE]" not in text.upper()
    assert "[URL" not in text and "[B]" not in text


def test_attachments_as_links_in_both_languages():
    attachments = (Attachment("photo1.png", "/bitrix/tools/disk/uf.php?attachedId=973&action=download"),
                   Attachment("notes.txt", "https://files.example/n.txt"))
    comment = make_comment("see files", attachments=attachments)
    ru = render_comment(make_task(), comment, portal_url=PORTAL)
    en = render_comment(make_task(), comment, portal_url=PORTAL, language="en")
    assert "Вложения:" in ru and "Attachments:" in en
    assert f"[URL={PORTAL}/bitrix/tools/disk/uf.php?attachedId=973&action=download]photo1.png[/URL]" in ru
    assert "[URL=https://files.example/n.txt]notes.txt[/URL]" in en


def test_attachment_download_url_loses_its_auth_token():
    url = "/bitrix/tools/disk/uf.php?attachedId=973&auth%5Bauth%5D=3edf7ca92&action=download&ncc=1"
    text = render_comment(make_task(), make_comment("x", attachments=(Attachment("a.png", url),)), portal_url=PORTAL)
    assert "3edf7ca92" not in text
    assert "attachedId=973" in text


def test_attachment_with_unsafe_url_keeps_only_its_name():
    comment = make_comment("x", attachments=(Attachment("evil.html", "javascript:alert(1)"),))
    text = render_comment(make_task(), comment, portal_url=PORTAL)
    assert "evil.html" in text
    assert "javascript" not in text.lower()


def test_comment_with_only_attachments_has_no_empty_quote():
    comment = make_comment("", attachments=(Attachment("a.png", "https://f.example/a.png"),))
    text = render_comment(make_task(), comment, portal_url=PORTAL)
    assert "[QUOTE]" not in text


# --------------------------------------------------------------------------- dates


def test_date_is_the_sources_own_wall_clock_whatever_the_offset():
    for date in ("2025-07-15T14:31:00+02:00", "2025-07-15T14:31:00-07:00", "2025-07-15T14:31:00+10:00"):
        text = render_comment(make_task(), make_comment(date=date), portal_url=PORTAL)
        assert "15.07.2025 14:31" in text.split("\n")[0]


def test_date_with_z_suffix_and_fraction():
    text = render_comment(make_task(), make_comment(date="2025-12-31T23:59:59.123Z"), portal_url=PORTAL)
    assert "31.12.2025 23:59" in text


# --------------------------------------------------------------------------- mentions


@pytest.mark.parametrize("source, name", [
    ("[USER=5]Petr Ivanov[/USER]", "Petr Ivanov"),
    ("[user=5]Petr Ivanov[/user]", "Petr Ivanov"),
    ("[User=5]Petr Ivanov[/uSeR]", "Petr Ivanov"),
    ("[USER=503 REPLACE]Maria Johnson[/USER]", "Maria Johnson"),
])
def test_mentions_become_plain_names(source, name):
    for flavour in ("forum", "chat"):
        text = comment_text(f"ping {source} please", flavour=flavour)
        assert f"ping {name} please" in text
        assert "[user" not in text.lower()


def test_user_all_becomes_plain_text():
    ru = comment_text("[user=all] meeting at 5")
    en = comment_text("[USER=all] meeting at 5", language="en")
    assert "@все meeting at 5" in ru and "@all meeting at 5" in en
    assert "[user" not in (ru + en).lower()


def test_names_in_header_lose_mentions_and_tags():
    comment = make_comment("x", author="[USER=1]Ivan[/USER] [URL=https://x.example]Petrov[/URL]")
    text = render_comment(make_task(), comment, portal_url=PORTAL)
    assert "[B]Ivan Petrov[/B]" in text
    assert "[user" not in text.lower()


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize("target", [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    " javascript:alert(1)",
    "java&#x09;script:alert(1)",
    "&#106;avascript:alert(1)",
    "&amp;#106;avascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "//evil.example/x",
    "/\\evil.example/x",
    "ftp://files.example/x",
    "evil.example/x",
])
def test_unsafe_link_keeps_text_and_drops_link(target):
    for flavour in ("forum", "chat"):
        text = comment_text(f"click [URL={target}]here[/URL] now", flavour=flavour)
        assert "click here now" in text
        targets = link_targets(text)
        assert len(targets) == 1  # only the header's own link
        assert targets[0].startswith(PORTAL)
        assert "script:" not in text.lower().replace("\t", "").replace("\n", "")


def test_url_tag_without_value_that_is_unsafe_is_text_only():
    text = comment_text("[url]javascript:alert(1)[/url]")
    assert len(link_targets(text)) == 1


def test_img_becomes_a_link_only_when_safe():
    safe = comment_text("[IMG]https://img.example/a.png[/IMG]")
    unsafe = comment_text("[img]javascript:alert(1)[/img]")
    assert "[URL=https://img.example/a.png]https://img.example/a.png[/URL]" in safe
    assert len(link_targets(unsafe)) == 1
    assert "[img" not in (safe + unsafe).lower()


@pytest.mark.parametrize("target", ["https://ok.example/a?b=1&c=2", "http://ok.example", "/company/personal/user/1/"])
def test_safe_links_survive(target):
    forum = comment_text(f"see [URL={target}]this[/URL]")
    chat = comment_text(f"see [url={target}]this[/url]", flavour="chat")
    assert f"[URL={target}]this[/URL]" in forum
    assert f"[url={target}]this[/url]" in chat


def test_safe_url_encodes_bracket_breakers():
    assert safe_url("https://x.example/a]b[c") == "https://x.example/a%5Db%5Bc"
    assert safe_url("javascript:alert(1)") is None


# --------------------------------------------------------------------------- the quote holds


@pytest.mark.parametrize("source", [
    "before [/QUOTE] after",
    "before [/quote][QUOTE] after",
    "[QUOTE=Ivan]nested[/QUOTE] tail [/QUOTE][/QUOTE]",
    "[CODE] unclosed code",
    "[QUOTE] unclosed quote",
    "[B]unclosed bold",
    "[/B] stray close [/I]",
    "[URL=https://x.example]unclosed link",
    "[spoiler][table][tr][td]x[/td]",
])
def test_source_tags_cannot_break_the_quote(source):
    text = comment_text(source)
    upper = text.upper()
    assert upper.count("[QUOTE]") == 1
    assert upper.count("[/QUOTE]") == 1
    assert upper.index("[QUOTE]") < upper.index("[/QUOTE]")
    assert text.rstrip().endswith("[/QUOTE]")
    assert "[CODE" not in upper and "[TABLE" not in upper
    # Formatting tags that remain are balanced.
    for tag in ("B", "I", "U", "S"):
        assert upper.count(f"[{tag}]") == upper.count(f"[/{tag}]")


def test_a_stray_tag_is_removed_and_the_rest_reads_as_written():
    text = comment_text("a [/QUOTE] b")
    assert "[QUOTE]a  b[/QUOTE]" in text


@pytest.mark.parametrize("flavour", ["forum", "chat"])
def test_a_nested_quote_reads_cleanly(flavour):
    text = comment_text("I agree:\n[QUOTE]the pump is\n[\u200bQUOTE]broken[/QUOTE][/QUOTE]fixed?", flavour=flavour)
    assert ZWSP not in text.split("\n", 1)[1]  # no zero-width characters in the body
    lines = [line.removeprefix(">>") for line in text.split("\n")]
    # the reply is set apart from the quote by an empty line
    assert lines[-4:] == ["» the pump is", "» » broken", "", "fixed?" + ("[/QUOTE]" if flavour == "forum" else "")]
    assert "QUOTE]" not in text.split("\n", 1)[1].replace("[QUOTE]", "", 1).replace("[/QUOTE]", "", 1)


def test_text_that_only_looks_like_a_tag_is_escaped():
    text = comment_text("see [note] and [/ QUOTE]")
    assert "see [" + ZWSP + "note] and [" + ZWSP + "/ QUOTE]" in text


def test_chat_quote_every_line_is_prefixed():
    text = comment_text("one\n------\ntwo\n>>three", flavour="chat")
    body = text.split("\n")[1:]
    assert body == [">>one", ">>------", ">>two", ">>>>three"]


def test_balanced_formatting_is_kept_and_converted_per_flavour():
    assert "[B]bold[/B] and [I]it[/I]" in comment_text("[b]bold[/b] and [i]it[/i]")
    assert "[b]bold[/b]" in comment_text("[B]bold[/B]", flavour="chat")


def test_neutralise_is_idempotent():
    source = "[USER=1]A[/USER] [URL=javascript:x]t[/URL] [/QUOTE] [b]x [url=https://a.example]y[/url] b24m:event:1:2"
    once = neutralise(source)
    assert neutralise(once) == once


# --------------------------------------------------------------------------- markers


def test_exactly_one_marker_even_when_source_has_marker_like_text():
    task = make_task(title=f"Title {MARKER_LIKE} [URL=https://x.example/#{MARKER_LIKE}]t[/URL]")
    attachments = (Attachment(f"{MARKER_LIKE}.png", f"https://files.example/{MARKER_LIKE}"),)
    comment = make_comment(
        f"text {MARKER_LIKE} and [URL=https://x.example/#{MARKER_LIKE}]{MARKER_LIKE}[/URL] B24M:event:3:4",
        author=f"Eve {MARKER_LIKE}", attachments=attachments,
    )
    for flavour in ("forum", "chat"):
        text = render_comment(task, comment, portal_url=PORTAL, flavour=flavour)
        assert find_markers(text) == [Marker("comment", 123, 456)]
        assert "b24m:comment:1:2" not in text.lower()
        assert "b24m" + ZWSP + ":comment:1:2" in text  # the reader still sees it


def test_marker_like_text_split_by_tags_is_not_reassembled():
    text = comment_text("b24[b][/b]m:comment:1:2 and b24[user=1][/user]m:comment:3:4")
    assert find_markers(text) == [Marker("comment", 123, 456)]


def test_event_and_subtask_and_deleted_note_have_one_marker():
    task = make_task(title=MARKER_LIKE)
    event = render_event(task, make_event("TITLE", MARKER_LIKE, "b24m:event:5:6"), portal_url=PORTAL, language="en")
    assert find_markers(event) == [Marker("event", 123, 9)]
    subtask = render_subtask(task, portal_url=PORTAL, creator_name=MARKER_LIKE,
                             parent=make_task(100, title="b24m:subtask:7:8", parent_id=None))
    assert find_markers(subtask) == [Marker("subtask", 100, 123)]
    note = render_deleted_note(Marker("comment", 123, 456), group_id=42)
    assert find_markers(note) == [Marker("comment", 123, 456)]


def test_title_cannot_inject_tags():
    task = make_task(title="Pump[/URL][URL=javascript:alert(1)]click[/URL] [QUOTE]")
    for flavour in ("forum", "chat"):
        text = render_comment(task, make_comment("x"), portal_url=PORTAL, flavour=flavour)
        header = text.split("\n")[0]
        assert header.upper().count("[URL") == 1 and header.upper().count("[/URL]") == 1
        assert "javascript" not in link_targets(text)[0]
        assert "[QUOTE]" not in header.upper()


# --------------------------------------------------------------------------- text passes through


def test_rtl_and_emoji_pass_through_intact():
    source = "שלום עולם مرحبا بالعالم 👍🏽 👨‍👩‍👧 🇷🇺"
    for flavour in ("forum", "chat"):
        assert source in comment_text(source, flavour=flavour)
    assert "Насос 🚰 مضخة" in render_comment(make_task(title="Насос 🚰 مضخة"), make_comment("x"), portal_url=PORTAL)


def test_cyrillic_text_and_ordinary_punctuation_unchanged():
    source = "Готово: 3 шт. (см. фото) — ок!"
    assert f"[QUOTE]{source}[/QUOTE]" in comment_text(source)


# --------------------------------------------------------------------------- cutting and redaction


def quoted_body(text, flavour):
    """The quoted part of a mirror as it counts against max_chars: the forum quote's inside, or the chat's
    `>>` lines with their prefixes and the newlines between them."""
    if flavour == "forum":
        return re.search(r"\[QUOTE\](.*)\[/QUOTE\]", text, re.DOTALL).group(1)
    return "\n".join(line for line in text.split("\n") if line.startswith(">>"))


def assert_cut_to(text, flavour, max_chars):
    """max_chars bounds the quoted reader text, ellipsis and chat prefixes included; the cut ends at a word
    no more than 80 characters back. The rest of the mirror is one header line and one link line."""
    body = quoted_body(text, flavour)
    assert max_chars - 81 <= len(body) <= max_chars, len(body)
    lines = text.split("\n")
    wrapper = len("[QUOTE][/QUOTE]") if flavour == "forum" else 0
    assert len(text) == len(lines[0]) + 1 + wrapper + len(body) + 1 + len(lines[-1]), text[:300]


def test_megabyte_comment_is_cut_with_a_read_in_full_link():
    source = ("слово " * 200_000)[:1_000_000]
    for flavour, language, label in (("forum", "ru", "Читать полностью"), ("chat", "en", "Read in full")):
        text = comment_text(source, flavour=flavour, language=language, max_chars=2000)
        assert_cut_to(text, flavour, 2000)
        assert f"{task_url(PORTAL, 123, group_id=42)}]{label}[/" in text
        assert "…" in text
        assert find_markers(text) == [Marker("comment", 123, 456)]


def test_megabyte_of_short_lines_in_chat_stays_within_the_limit():
    text = comment_text("a\n" * 500_000, flavour="chat", max_chars=1000)
    assert_cut_to(text, "chat", 1000)  # every short line's `>>` counts


def test_short_comment_has_no_read_in_full_link():
    text = comment_text("short", max_chars=2000)
    assert "Читать полностью" not in text


def test_cut_never_leaves_an_open_link_or_tag():
    source = "x" * 90 + "[URL=https://a.example/very/long/path]a link text that is long[/URL]" + "[b]bold text[/b]" * 10
    for limit in range(80, 200, 7):
        text = comment_text(source, max_chars=limit)
        upper = text.upper()
        assert upper.count("[QUOTE]") == upper.count("[/QUOTE]") == 1
        assert upper.count("[URL=") == upper.count("[/URL]")
        assert upper.count("[B]") == upper.count("[/B]")


def test_redaction_in_both_languages():
    rules = Rules(redact_patterns=(re.compile(r"\+7\d{10}"), re.compile(r"password: \S+")))
    source = "call +79991234567, password: hunter2"
    assert "call [скрыто], [скрыто]" in comment_text(source, rules=rules)
    en = comment_text(source, rules=rules, language="en")
    assert "[" + ZWSP + "redacted]" in en
    assert "79991234567" not in en and "hunter2" not in en


def test_redaction_happens_before_cutting():
    # The secret straddles the cut: cutting first would leave its head visible.
    rules = Rules(redact_patterns=(re.compile(r"SECRET-\d+"),))
    source = "a" * 95 + " SECRET-123456789" + " tail" * 100
    text = comment_text(source, rules=rules, max_chars=105)
    assert "SECRET" not in text and "1234" not in text


def test_redact_accepts_strings_and_nothing():
    assert redact("abc 123", [r"\d+"], language="en") == "abc [redacted]"
    assert redact("abc", None) == "abc"


# --------------------------------------------------------------------------- events


@pytest.mark.parametrize("language, expected", [
    ("ru", "Статус: Выполняется → Завершена"),
    ("en", "Status: In progress → Completed"),
])
def test_status_event(language, expected):
    for field in ("STATUS", "REAL_STATUS"):
        text = render_event(make_task(), make_event(field, "3", "5"), portal_url=PORTAL, language=language)
        assert "\n" not in text
        assert text.endswith(expected)
        assert " · [B]Anna Lee[/B] · 10.06.2025 12:00 · " in text
        assert find_markers(text) == [Marker("event", 123, 9)]


def test_status_names_tables_are_complete():
    assert set(STATUS_NAMES["ru"]) == set(STATUS_NAMES["en"]) == set(range(1, 8))


def test_unknown_status_value_is_shown_raw():
    text = render_event(make_task(), make_event("STATUS", "", "42"), portal_url=PORTAL, language="en")
    assert text.endswith("Status: — → 42")


def test_event_chat_flavour():
    text = render_event(make_task(), make_event("STATUS", "2", "3"), portal_url=PORTAL, flavour="chat")
    assert text.startswith("[url=") and "[/url]" in text and "[URL" not in text


def test_deadline_iso_dates_same_year():
    text = render_event(make_task(), make_event("DEADLINE", "2025-06-12T18:00:00+03:00", "2025-06-19T18:00:00+03:00"),
                        portal_url=PORTAL)
    assert text.endswith("Крайний срок: 12.06 → 19.06")


def test_deadline_other_year_adds_the_year():
    text = render_event(make_task(), make_event("DEADLINE", "2025-06-12T18:00:00+03:00", "2027-06-19T18:00:00+03:00"),
                        portal_url=PORTAL, language="en")
    assert text.endswith("Deadline: 12.06.2025 → 19.06.2027")


def test_deadline_empty_side():
    set_ = render_event(make_task(), make_event("DEADLINE", None, "2025-06-19T18:00:00+03:00"), portal_url=PORTAL)
    cleared = render_event(make_task(), make_event("DEADLINE", "2025-06-19T18:00:00+03:00", "0"), portal_url=PORTAL)
    assert set_.endswith("Крайний срок: — → 19.06")
    assert cleared.endswith("Крайний срок: 19.06 → —")


def test_deadline_unix_timestamp_uses_the_events_offset_by_default():
    # 1749754800 = 2025-06-12T19:00:00Z = 13.06 at 01:00 in +06:00, 12.06 in +03:00.
    late = make_event("DEADLINE", "1749754800", "2025-06-19T18:00:00+06:00", date="2025-06-10T12:00:00+06:00")
    early = make_event("DEADLINE", "1749754800", "2025-06-19T18:00:00+03:00", date="2025-06-10T12:00:00+03:00")
    assert render_event(make_task(), late, portal_url=PORTAL).endswith("13.06 → 19.06")
    assert render_event(make_task(), early, portal_url=PORTAL).endswith("12.06 → 19.06")


def test_deadline_unix_timestamp_in_the_given_tz():
    event = make_event("DEADLINE", "1749754800", "1750359600", date="2025-06-10T12:00:00+03:00")
    text = render_event(make_task(), event, portal_url=PORTAL, tz=timezone(timedelta(hours=-10)))
    assert text.endswith("12.06 → 19.06")
    text = render_event(make_task(), event, portal_url=PORTAL, tz=timezone(timedelta(hours=6)))
    assert text.endswith("13.06 → 20.06")


def test_deadline_iso_date_keeps_its_own_date_whatever_tz():
    event = make_event("DEADLINE", None, "2025-06-19T23:30:00+03:00")
    text = render_event(make_task(), event, portal_url=PORTAL, tz=timezone.utc)
    assert text.endswith("— → 19.06")


def test_responsible_event_names_people_never_ids():
    users = {2: User(2, "Ivan [b]Petrov[/b]")}
    ru = render_event(make_task(), make_event("RESPONSIBLE_ID", "2", "77"), portal_url=PORTAL, users=users)
    en = render_event(make_task(), make_event("RESPONSIBLE_ID", "2", "77"), portal_url=PORTAL, language="en")
    assert ru.endswith("Ответственный: Ivan Petrov → (имя неизвестно)")
    assert en.endswith("Responsible: (name unknown) → (name unknown)")


def test_title_event_strips_tags():
    text = render_event(make_task(), make_event("TITLE", "Old [QUOTE]", "New [/URL][URL=javascript:x]"),
                        portal_url=PORTAL, language="en")
    assert text.endswith("Title: Old → New")
    assert text.upper().count("[URL") == 1


def test_event_user_name_cannot_inject():
    event = HistoryEvent(9, 123, "STATUS", "2", "3", "2025-06-10T12:00:00+03:00", 5, "[URL=javascript:x]Eve[/URL]")
    text = render_event(make_task(), event, portal_url=PORTAL)
    assert " · [B]Eve[/B] · " in text and "javascript" not in text


# --------------------------------------------------------------------------- subtasks and deletions


def test_new_subtask_in_both_languages():
    task = make_task(deadline="2025-08-01T18:00:00+03:00")
    users = {2: User(2, "Ivan Petrov")}
    ru = render_subtask(task, portal_url=PORTAL, users=users, creator_name="Anna")
    en = render_subtask(task, portal_url=PORTAL, language="en", flavour="chat")
    assert ru.startswith(f"Новая подзадача: [URL={task_url(PORTAL, 123, Marker('subtask', 100, 123), group_id=42)}]#123 Fix the pump[/URL]")
    assert " · [B]Anna[/B] · 01.07.2025 09:00 · Ответственный: Ivan Petrov · Крайний срок: 01.08.2025 18:00" in ru
    assert en.startswith("New subtask: [url=") and "Responsible: (name unknown)" in en
    assert "#2" not in en
    assert find_markers(ru) == [Marker("subtask", 100, 123)]


def test_new_subtask_marker_without_parent_uses_zero():
    text = render_subtask(make_task(parent_id=None), portal_url=PORTAL)
    assert find_markers(text) == [Marker("subtask", 0, 123)]


def test_new_subtask_names_its_parent_without_a_second_marker():
    text = render_subtask(make_task(), portal_url=PORTAL, parent=make_task(100, "Parent", parent_id=None), language="en")
    assert f"in task [URL={task_url(PORTAL, 100, group_id=42)}]#100 Parent[/URL]" in text
    assert find_markers(text) == [Marker("subtask", 100, 123)]


@pytest.mark.parametrize("marker, ru, en", [
    (Marker("comment", 123, 456), "Комментарий удалён в источнике", "The source comment was deleted"),
    (Marker("event", 123, 9), "Событие удалено в источнике", "The source event was deleted"),
    (Marker("subtask", 100, 123), "Подзадача удалена", "The subtask was deleted"),
])
def test_deleted_note_keeps_the_marker(marker, ru, en):
    text_ru = render_deleted_note(marker, group_id=42)
    text_en = render_deleted_note(marker, group_id=42, language="en", flavour="chat", portal_url=PORTAL)
    assert ru in text_ru and en in text_en
    assert find_markers(text_ru) == find_markers(text_en) == [marker]
    assert text_ru.startswith("[URL=/workgroups/group/42/tasks/task/view/")
    assert text_en.startswith(f"[url={PORTAL}/workgroups/group/42/tasks/task/view/")


# --------------------------------------------------------------------------- redaction holds in the reader text

CARD = Rules(redact_patterns=(re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b"),))


def reader_of(text: str) -> str:
    """What a reader sees of a mirror: tags and zero-width characters gone."""
    return re.sub(r"\[/?(?:url|b|i|u|s|quote)(=[^\]]*)?\]", "", text.replace(ZWSP, ""), flags=re.IGNORECASE)


@pytest.mark.parametrize("flavour", ["forum", "chat"])
@pytest.mark.parametrize("source", [
    "Card [COLOR=#000000]4111 1111[/COLOR] 1111 1111",
    "Card [B]4111 1111[/B] 1111 1111",
    "Card 4111[URL=https://x.example] 1111 1111 [/URL]1111",
    "Card 41\u200b11 1111 1111 1111",
    "Card 4111&#32;1111 1111 1111",
])
def test_redaction_holds_whatever_splits_the_match(source, flavour):
    text = comment_text(source, rules=CARD, flavour=flavour, language="en")
    seen = reader_of(text)
    assert "Card [redacted]" in seen, text
    assert not re.search(r"\d{4}", seen.split("\n", 1)[1]), text
    assert "x.example" not in text  # a link whose text was redacted loses its target too


def test_two_matches_in_one_comment_are_both_redacted():
    text = comment_text("first 4111 1111 1111 1111, then [I]5500 0000 0000 0004[/I].", rules=CARD, language="en")
    assert reader_of(text).count("[redacted]") == 2
    assert "4111" not in text and "5500" not in text and "0004" not in text


def test_formatting_around_a_redaction_stays_balanced_and_is_kept_outside_it():
    text = comment_text("[B]bold 4111 1111[/B] 1111 1111 [I]tail[/I]", rules=CARD, language="en")
    assert text.count("[B]") == text.count("[/B]") and "[I]tail[/I]" in text
    assert "4111" not in text


def test_a_link_whose_target_matches_a_redaction_becomes_text():
    rules = Rules(redact_patterns=(re.compile(r"secret-\w+"),))
    text = comment_text("see [URL=https://x.example/secret-abc]the doc[/URL]", rules=rules, language="en")
    assert "secret-abc" not in text and "the doc" in text
    assert len(link_targets(text)) == 1


def test_entities_and_invisible_characters_read_as_readers_see_them():
    text = comment_text("&#35;internal &amp;amp; pr\u200bi\u00adce \ufeffok")
    body = text.split("\n", 1)[1]
    assert "#internal & price ok" in body


def test_emoji_joiners_stay_and_word_joiners_go():
    text = comment_text("👩🏽\u200d🔧 wo\u200drd")
    assert "👩🏽\u200d🔧" in text and "word" in text


# --------------------------------------------------------------------------- every line dated, people named


def test_new_subtask_line_carries_its_date_and_names_people():
    task = make_task()
    text = render_subtask(task, portal_url=PORTAL, users={2: User(2, "Boris Ivanov")}, creator_name="Anna",
                          date="2025-07-16T10:05:00+03:00")
    assert " · [B]Anna[/B] · 16.07.2025 10:05 · " in text and "Boris Ivanov" in text
    assert re.search(r"#\d+(?!\d* )", text.replace("#123 Fix", "")) is None


def test_new_subtask_falls_back_to_the_names_the_task_carries():
    task = Task(id=5, title="T", group_id=42, parent_id=100, status=2, created_by=1, responsible_id=10,
                created_date="2025-07-01T09:00:00+03:00", changed_date="2025-07-01T09:00:00+03:00",
                responsible_name="Boris Ivanov", creator_name="Anna Petrova")
    from b24mirror.policy.plan import people
    text = render_subtask(task, portal_url=PORTAL, users=people({}, {5: task}), language="en")
    assert "Responsible: Boris Ivanov" in text and "#10" not in text


def test_a_direct_child_of_the_master_does_not_name_the_master_as_its_parent():
    master = make_task(100, "Master", parent_id=None)
    text = render_subtask(make_task(), portal_url=PORTAL, parent=master, master_id=100, language="en")
    assert text.startswith("New subtask: ") and "in task" not in text and "#100" not in text
    nested = render_subtask(make_task(), portal_url=PORTAL, parent=master, master_id=1, language="en")
    assert "in task " in nested


def test_withdrawn_note_keeps_the_marker_in_both_languages():
    marker = Marker("comment", 123, 456)
    ru = render_withdrawn_note(marker, group_id=42)
    en = render_withdrawn_note(marker, group_id=42, language="en", flavour="chat", portal_url=PORTAL)
    assert "Отозвано в источнике" in ru and "Withdrawn at the source" in en
    assert find_markers(ru) == find_markers(en) == [marker]
