"""Turn source items (comments, history rows, new subtasks) into mirror comment text.

Pure functions: no I/O. Two target flavours:

* ``forum`` — a classic task's forum comment: ``[URL=..]``, ``[B]``, ``[QUOTE]..[/QUOTE]``;
* ``chat`` — a new-card task's chat message: ``[url=..]``, ``[b]``, quotes as ``>>`` lines.

Every mirror carries exactly one marker token (``str(Marker)``), hidden as the fragment of
the subtask link's URL. A source comment is first turned into reader text (`reader.py`):
what a reader sees, tags removed, invisible characters removed, entities decoded. Rules
judge that text, redaction cuts spans out of it, and the mirror is written from it.

Modules: `reader` (BBCode → reader pieces, redaction, writing them back), `safety`
(invisible characters, entities, escaping, defanging), `links`, `dates`, `language`
(the words), `mirrors` (one renderer per kind of mirror).
"""
from .dates import format_date
from .language import LABELS, STATUS_NAMES
from .links import CHAT, FLAVOURS, FORUM, safe_url, task_url
from .mirrors import (
    comment_body,
    describe_change,
    render_comment,
    render_deleted_note,
    render_event,
    render_subtask,
    render_withdrawn_note,
    user_name,
)
from .reader import neutralise, reader_text, redact
from .results import render_result, render_result_removed
from .safety import ZWSP, decode_entities, defang, plain, visible_only

__all__ = [
    "CHAT", "FLAVOURS", "FORUM", "LABELS", "STATUS_NAMES", "ZWSP", "comment_body", "decode_entities", "defang",
    "describe_change", "format_date", "neutralise", "plain", "reader_text", "redact", "render_comment", "render_result", "render_result_removed",
    "render_deleted_note", "render_event", "render_subtask", "render_withdrawn_note", "safe_url", "task_url",
    "user_name", "visible_only",
]
