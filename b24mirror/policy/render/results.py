"""The mirror of a subtask's result: marked as the result, so a manager tells the outcome from the chatter."""
from __future__ import annotations

from ..models import KIND_RESULT, Marker, Result, Task
from b24mirror.config.settings import Rules
from .dates import format_date
from .links import FORUM, link, task_url
from .mirrors import SEPARATOR, _header, _note, _person, _quote, comment_body

WORDS = {
    "ru": {"result": "✅ Результат", "result_of": "комментарий выше теперь результат",
           "removed": "Результат снят в источнике", "read_full": "Читать полностью"},
    "en": {"result": "✅ Result", "result_of": "the comment mirrored above is now the result",
           "removed": "The result was removed at the source", "read_full": "Read in full"},
}


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["ru"])


def render_result(task: Task, result: Result, *, author_name: str, portal_url: str, language: str = "ru",
                  rules: Rules = Rules(), max_chars: int = 2000, flavour: str = FORUM,
                  already_mirrored: bool = False) -> str:
    """Header (subtask link with the marker · ✅ Result · author · date), then the result's text, quoted.

    `already_mirrored`: the comment this result was made from is in the master already: its text is not
    repeated, the line says that comment became the result."""
    words = _words(language)
    marker = Marker(KIND_RESULT, task.id, result.id)
    head = _header(task, marker, portal_url, flavour, _person(words["result"], flavour),
                   _person(author_name, flavour), format_date(result.updated or result.date))
    if already_mirrored:
        return head + SEPARATOR + words["result_of"]
    body, was_cut = comment_body(result.as_comment(author_name), language=language, rules=rules,
                                 max_chars=max_chars, flavour=flavour)
    parts = [head]
    if body:
        parts.append(_quote(body, flavour))
        if was_cut:
            parts.append(link(task_url(portal_url, task.id, group_id=task.group_id), words["read_full"], flavour))
    return "\n".join(parts)


def render_result_removed(marker: Marker, *, group_id: int, language: str = "ru", flavour: str = FORUM,
                          portal_url: str = "") -> str:
    """The text a result's mirror is edited to when the result is removed; keeps its marker."""
    return _note(marker, _words(language)["removed"], flavour, portal_url, group_id)
