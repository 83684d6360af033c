"""Source BBCode turned into what a reader of the mirror sees, as a list of pieces.

A piece is ``("text", s)``, ``("link", url, s)`` or ``("fmt", closing, name)``. The
reader text is the text of the pieces joined: tags gone, invisible characters gone,
entities decoded. Rules judge that text and redaction cuts spans out of it; the mirror
is then written from the same pieces, so what readers see is exactly what was judged,
whichever tags split a word in the source.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from .language import labels_for
from .links import CHAT, FORUM, link, safe_url
from .safety import TAG_RE, decode_entities, defang, inert, visible_only

# Tags whose content is kept and whose tag is dropped.
_UNWRAP = {"user", "chat", "context", "send", "put", "call", "color", "size", "font", "left", "right",
           "center", "justify", "list", "p", "spoiler", "code", "table", "tr", "td", "th"}
_FORMAT = {"b", "i", "u", "s"}  # kept when balanced
_DROP = {"disk", "icon", "timestamp", "attach", "video", "audio"}  # carry nothing worth keeping
_KNOWN = _UNWRAP | _FORMAT | _DROP | {"url", "img", "br", "*", "quote"}
QUOTE_PREFIX = "» "


def _tokenise(text: str) -> list[tuple]:
    """Split into ("text", s) and ("tag", closing, name, arg, raw) tokens."""
    tokens: list[tuple] = []
    pos = 0
    for match in TAG_RE.finditer(text):
        if match.start() > pos:
            tokens.append(("text", text[pos : match.start()]))
        tokens.append(("tag", bool(match.group(1)), match.group(2).lower(), match.group(3), match.group(0)))
        pos = match.end()
    if pos < len(text):
        tokens.append(("text", text[pos:]))
    return tokens


def _find_close(tokens: list[tuple], start: int, name: str) -> int | None:
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token[0] == "tag" and token[1] and token[2] == name:
            return index
    return None


def _inner_text(tokens: list[tuple]) -> str:
    parts = [t[1] if t[0] == "text" else " " for t in tokens if t[0] == "text" or t[2] == "br"]
    # Runs of white space read as one space; the ones at either end stay, as readers see them.
    return re.sub(r"\s+", " ", decode_entities("".join(parts)))


def _items(tokens: list[tuple], language: str) -> list[tuple]:
    """Tokens resolved into text, links, and formatting/quote tags still to be balanced."""
    items: list[tuple] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token[0] == "text":
            items.append(("text", decode_entities(token[1])))
            continue
        _, closing, name, arg, raw = token
        target = arg[1:].strip() if arg.startswith("=") else ""
        if name in ("url", "img") and not closing:
            close = _find_close(tokens, index, name)
            if close is None:
                continue
            inner = _inner_text(tokens[index:close])
            url = safe_url(target if (name == "url" and target) else inner)
            items.append(("link", url, inner if inner.strip() else url) if url else ("text", inner))
            index = close + 1
        elif name == "user" and not closing and target.split(" ")[0].lower() == "all" \
                and _find_close(tokens, index, name) is None:
            items.append(("text", "@" + labels_for(language)["all"]))
        elif name == "br":
            items.append(("text", "\n"))
        elif name == "*":
            items.append(("text", "• "))
        elif name in _FORMAT and not arg:
            items.append(("fmt", closing, name))
        elif name == "quote":
            items.append(("quote", closing))
        elif name not in _KNOWN:
            items.append(("text", raw))  # not BBCode to the portal either: the reader sees it as written
    return items


def balanced(items: list[tuple]) -> list[tuple]:
    """Formatting and quote tags kept only where they open and close in order."""
    keep: set[int] = set()
    stack: list[tuple[tuple, int]] = []
    for position, item in enumerate(items):
        if item[0] not in ("fmt", "quote"):
            continue
        key, closing = (item[0], item[2] if item[0] == "fmt" else ""), item[1]
        if not closing:
            stack.append((key, position))
        elif any(entry[0] == key for entry in stack):
            while stack:
                open_key, open_position = stack.pop()
                if open_key == key:
                    keep.update((open_position, position))
                    break
    return [item for position, item in enumerate(items) if item[0] in ("text", "link") or position in keep]


def _unquote(items: list[tuple], prefix: str = QUOTE_PREFIX) -> list[tuple]:
    """A quote inside the source reads as its own lines, each led by "» " (one per level)."""
    out: list[tuple] = []
    depth = 0
    for item in items:
        if item[0] == "quote":
            depth += -1 if item[1] else 1
            out.append(("text", "\n" + prefix * depth if depth else "\n"))
        elif depth and item[0] == "text":
            out.append(("text", item[1].replace("\n", "\n" + prefix * depth)))
        else:
            out.append(item)
    return out


def reader_pieces(source: str | None, *, language: str = "ru", quote_prefix: str = QUOTE_PREFIX) -> list[tuple]:
    tokens = _tokenise(visible_only(source or ""))
    return _unquote(balanced(_items(tokens, language)), quote_prefix)


def visible(pieces: Iterable[tuple]) -> str:
    return "".join(piece[-1] if piece[0] == "link" else piece[1] for piece in pieces if piece[0] != "fmt")


def reader_text(source: str | None, *, language: str = "ru", quote_prefix: str = QUOTE_PREFIX) -> str:
    """The source as a reader of the mirror would read it: what rules are judged on.

    ``quote_prefix=""`` gives the text of quoted lines without their "» " lead."""
    return visible(reader_pieces(source, language=language, quote_prefix=quote_prefix))


def _spans(text: str, patterns: Iterable) -> list[tuple[int, int]]:
    found = sorted(
        (m.start(), m.end())
        for pattern in patterns
        for m in (pattern if hasattr(pattern, "finditer") else re.compile(pattern)).finditer(text)
        if m.end() > m.start()
    )
    merged: list[list[int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _cut_out(text: str, offset: int, spans: list[tuple[int, int]], label: str) -> str:
    """`text` (starting at reader offset `offset`) with the spans replaced, a label where each begins."""
    out, cursor, end = [], 0, offset + len(text)
    for start, stop in spans:
        if stop <= offset or start >= end:
            continue
        out.append(text[cursor : max(0, start - offset)])
        if start >= offset:
            out.append(label)
        cursor = min(len(text), stop - offset)
    out.append(text[cursor:])
    return "".join(out)


def redact_pieces(pieces: list[tuple], patterns: Iterable | None, *, language: str = "ru") -> list[tuple]:
    """Every match of the patterns in the reader text replaced by "[скрыто]"/"[redacted]".

    Matches are found on the joined reader text, so no tag, link or line of the source can
    split one. A link whose text or target holds a match becomes plain text; formatting
    inside a match is dropped.
    """
    compiled = [p if hasattr(p, "finditer") else re.compile(p) for p in patterns or ()]
    if not compiled:
        return pieces
    spans = _spans(visible(pieces), compiled)
    label = labels_for(language)["redacted"]
    out: list[tuple] = []
    offset = 0
    for piece in pieces:
        if piece[0] == "fmt":
            if not any(start < offset < stop for start, stop in spans):
                out.append(piece)
            continue
        text = visible([piece])
        hit = any(start < offset + len(text) and stop > offset for start, stop in spans)
        if piece[0] == "link" and not hit and not any(p.search(piece[1]) for p in compiled):
            out.append(piece)
        else:
            out.append(("text", _cut_out(text, offset, spans, label) if hit else text))
        offset += len(text)
    return balanced(out)


def cut_pieces(pieces: list[tuple], keep: int) -> list[tuple]:
    """The first `keep` reader characters of the pieces, then "…"; formatting kept balanced."""
    out: list[tuple] = []
    left = keep
    for piece in pieces:
        if piece[0] == "fmt":
            out.append(piece)
            continue
        text = visible([piece])
        if len(text) <= left:
            out.append(piece)
            left -= len(text)
            continue
        if left > 0:
            out.append(piece[:-1] + (text[:left].rstrip(),))
        break
    out.append(("text", "…"))
    return balanced(out)


def write_pieces(pieces: Iterable[tuple], flavour: str = FORUM) -> str:
    """The pieces as mirror BBCode: text made inert, links and balanced formatting as tags."""
    out: list[str] = []
    for piece in pieces:
        if piece[0] == "text":
            out.append(inert(piece[1]))
        elif piece[0] == "link":
            out.append(link(piece[1], inert(piece[2].replace("]", ")")), flavour))
        else:
            name = piece[2] if flavour == CHAT else piece[2].upper()
            out.append(f"[{'/' if piece[1] else ''}{name}]")
    # Dropped tags may have joined marker-like text on either side: defang the whole once more.
    return defang("".join(out))


def neutralise(text: str, *, flavour: str = FORUM, language: str = "ru") -> str:
    """Source BBCode made safe to quote inside a mirror, reading as the reader text does.

    Mentions become plain names; ``[URL]``/``[IMG]`` keep their link only when the target
    passes `safe_url`; balanced ``[B]``, ``[I]``, ``[U]``, ``[S]`` stay; a balanced quote
    reads as "» " lines; every other known tag is removed, keeping its content; text that
    only looks like a tag is escaped; marker-like text is defanged. Idempotent.
    """
    return write_pieces(reader_pieces(text, language=language), flavour)


def redact(text: str, patterns: Iterable | None, *, language: str = "ru") -> str:
    """Plain text with every match of the patterns replaced by "[скрыто]"/"[redacted]"."""
    return _cut_out(text or "", 0, _spans(text or "", [p if hasattr(p, "finditer") else re.compile(p)
                                                       for p in patterns or ()]), labels_for(language)["redacted"])
