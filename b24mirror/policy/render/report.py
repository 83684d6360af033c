"""The status report's text: a header carrying the report's token, progress with a text bar, then one
section per kind of news, each line linking its subtask. Titles are redacted as mirrors are."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..models import Task, User, parse_date
from b24mirror.config.settings import Rules
from .links import FORUM, bold, link, task_url
from .mirrors import SEPARATOR, describe_change, user_name
from .safety import MAX_TITLE, plain
from ..shown import shown_title

BAR_WIDTH = 10
MAX_LINES = 30  # per section: a report stays a glance; the rest is counted

WORDS = {
    "en": {"title": "Status report", "progress": "Progress", "of": "{done} of {total} done",
           "completed": "Completed", "overdue": "Overdue", "late": "{days} d late", "moved": "Deadlines moved",
           "created": "New subtasks", "coming": "Deadlines in the coming period", "quiet": "no changes",
           "more": "and {n} more", "deadline": "deadline"},
    "ru": {"title": "Отчёт о статусе", "progress": "Прогресс", "of": "готово {done} из {total}",
           "completed": "Завершены", "overdue": "Просрочены", "late": "просрочка {days} дн.",
           "moved": "Перенесены сроки", "created": "Новые подзадачи", "coming": "Сроки в следующем периоде",
           "quiet": "без изменений", "more": "и ещё {n}", "deadline": "срок"},
}


def bar(done: int, total: int) -> str:
    """`▓▓▓░░░░░░░ 30%`: the share of first-level subtasks done."""
    share = done / total if total else 0.0
    filled = round(share * BAR_WIDTH)
    return "▓" * filled + "░" * (BAR_WIDTH - filled) + f" {round(share * 100)}%"


def render_report(facts, period, *, token: str, master_id: int, group_id: int, portal_url: str, language: str,
                  flavour: str = FORUM,
                  rules: Rules = Rules(), users: Mapping[int, User] | None = None) -> str:
    words = WORDS.get(language, WORDS["ru"])
    users = users or {}
    last_day = period.end - timedelta(seconds=1)  # a period ends where the next begins: name its last day
    span = (last_day.strftime('%d.%m.%Y') if last_day.date() == period.start.date()
            else f"{period.start.strftime('%d.%m')}–{last_day.strftime('%d.%m.%Y')}")
    header = link(task_url(portal_url, master_id, group_id=group_id) + "#" + token, f"{words['title']} {span}", flavour)
    progress = f"{words['progress']}: {words['of'].format(done=facts.done, total=facts.total)} {bar(facts.done, facts.total)}"
    if facts.quiet:
        return f"{header}{SEPARATOR}{words['quiet']}{SEPARATOR}{progress}"

    def name(task: Task) -> str:
        title = plain(shown_title(task.title, rules, language), MAX_TITLE)
        return link(task_url(portal_url, task.id, group_id=task.group_id or group_id), f"#{task.id} {title}".rstrip(),
                    flavour)

    def deadline(task: Task) -> str:
        return parse_date(task.deadline).astimezone(period.end.tzinfo).strftime("%d.%m.%Y")

    sections = [
        (words["completed"], [name(t) for t in facts.completed]),
        (words["overdue"], [f"{name(t)}{SEPARATOR}{user_name(t.responsible_id, users, language)}{SEPARATOR}"
                            f"{words['late'].format(days=days)}" for t, days in facts.overdue]),
        (words["moved"], [f"{name(t)}{SEPARATOR}{describe_change(e, language=language, tz=period.end.tzinfo)}"
                          for t, e in facts.moved]),
        (words["created"], [f"{name(t)}{SEPARATOR}{user_name(t.responsible_id, users, language)}" for t in facts.created]),
        (words["coming"], [f"{name(t)}{SEPARATOR}{words['deadline']} {deadline(t)}" for t in facts.coming]),
    ]
    lines = [header, progress]
    for title, items in sections:
        if not items:
            continue
        lines.append("")
        lines.append(bold(f"{title} ({len(items)})", flavour))
        lines.extend("• " + item for item in items[:MAX_LINES])
        if len(items) > MAX_LINES:
            lines.append("• " + words["more"].format(n=len(items) - MAX_LINES))
    return "\n".join(lines)
