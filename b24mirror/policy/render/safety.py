"""Text made inert: invisible characters out, entities decoded, tags and markers defanged.

Readers never see zero-width characters, soft hyphens or bidi overrides, and they see an
HTML entity as the character it stands for; so rules are judged, and mirrors written, on
the text with those removed or decoded (see `reader.py`).
"""
from __future__ import annotations

import html
import re

ZWSP = "\u200b"

# Invisible to a reader, yet able to split a word a rule looks for ("pr\u200bice"):
# zero-width space, LRM/RLM, bidi embeddings and isolates, word joiner and invisible
# operators, BOM, soft hyphen, Mongolian vowel separator, combining grapheme joiner.
_INVISIBLE_RE = re.compile(r"[\u00ad\u034f\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
# Zero-width (non-)joiners glue emoji sequences (👩🏽‍🔧) and some scripts; between two
# letters or digits of a Latin/Cyrillic word they only hide the word.
_JOINER_IN_WORD_RE = re.compile(r"(?<=[0-9A-Za-z\u00c0-\u024f\u0400-\u04ff])[\u200c\u200d]+(?=[0-9A-Za-z\u00c0-\u024f\u0400-\u04ff])")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKER_LIKE_RE = re.compile(r"b24m(?=\s*:)", re.IGNORECASE)
# A "[" a BBCode parser could read as the start of a tag: "[b", "[/b", "[ /b", "[*".
_TAG_START_RE = re.compile(r"\[(?=\s*/?\s*[A-Za-z*])")

TAG_RE = re.compile(r"\[(/?)([A-Za-z][A-Za-z0-9]*|\*)((?:[= ][^\[\]]*)?)\]")
_MENTION_PAIR_RE = re.compile(r"\[(user|chat|context)(?:=[^\]]*)?\](.*?)\[/\1\]", re.IGNORECASE | re.DOTALL)

MAX_TITLE = 255


def visible_only(text: str) -> str:
    """Control and invisible characters removed; line ends made ``\\n``."""
    value = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL_RE.sub("", value)
    value = _INVISIBLE_RE.sub("", value)
    return _JOINER_IN_WORD_RE.sub("", value)


def decode_entities(text: str) -> str:
    """HTML entities decoded until none is left (``&amp;#35;`` is ``#`` too), so that a
    portal decoding once more shows nothing else than what was judged."""
    value = text
    for _ in range(5):
        decoded = html.unescape(value)
        if decoded == value:
            return visible_only(value)
        value = visible_only(decoded)
    return value.replace("&", "&\u2060")  # still decoding: make what is left inert


def defang(text: str) -> str:
    """Make marker-like text inert: a zero-width space after ``b24m`` (idempotent)."""
    return _MARKER_LIKE_RE.sub(lambda m: m.group(0) + ZWSP, text or "")


def escape_tags(text: str) -> str:
    """A zero-width space after every ``[`` that could open a tag, so no BBCode parser sees one."""
    return _TAG_START_RE.sub("[" + ZWSP, text)


def inert(text: str) -> str:
    """Reader text made safe to place inside our own BBCode."""
    return defang(escape_tags(text))


def plain(text: str | None, limit: int = MAX_TITLE) -> str:
    """A single line free of BBCode: for titles and names placed inside our own tags."""
    value = visible_only(str(text or ""))
    value = _MENTION_PAIR_RE.sub(lambda m: m.group(2), value)
    value = TAG_RE.sub("", value)
    value = value.replace("[", "(").replace("]", ")")
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return defang(value)

