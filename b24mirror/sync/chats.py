"""Phase 2, details (chats and long comment lists): follow what did not fit in one page.

A chat's news are read forwards from the task's cursor (`FIRST_ID`); a first read walks back
from the newest page (`LAST_ID`) until it passes the baseline. Forum comment lists that filled
a page are read on by `>ID`. A list that still has more after MAX_CHAT_PAGES rounds keeps the
task changed, so the next run goes on from there.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.models import Task, parse_date, readable_date
from b24mirror.portal import PAGE, ChatPage, q_chat_messages, q_classic_comments
from b24mirror.sync.common import Context
from b24mirror.sync.records import GroupRun

MAX_CHAT_PAGES = 40  # per chat per run; the rest waits for the next run, nothing is skipped
CLASSIC_PAGE = "classic"  # marks a forum comment list that filled a page and is read on


def take_chat_page(run: GroupRun, task: Task, page: ChatPage, more: dict) -> None:
    """Keep a page's news (messages past the task's cursor); note the chat in `more` if the page was full."""
    known_last = int(run.snap(task.id).get("last_message_id") or 0)
    details = run.details
    details.users.update(page.users)
    fresh = dated(run, task.id, [m for m in page.messages if m.id > known_last], "message")
    details.comments.setdefault(task.id, []).extend(fresh)
    if fresh:
        details.chat_cursor[task.id] = max(details.chat_cursor.get(task.id, 0), max(m.id for m in fresh))
    if page.raw_count >= PAGE and fresh:
        more[(run, task.id)] = (known_last, page)


def take_classic_page(run: GroupRun, task_id: int, comments: list, more: dict) -> None:
    details = run.details
    details.comments.setdefault(task_id, []).extend(dated(run, task_id, comments, "comment"))
    if comments:
        details.comment_cursor[task_id] = max(c.id for c in comments)
    if len(comments) >= PAGE:
        # Some portals may cap getlist at a page: ask again until a short answer.
        more[(run, task_id)] = (CLASSIC_PAGE, None)


def dated(run: GroupRun, task_id: int, items: list, what: str) -> list:
    """Items whose date can be read. One that cannot waits, and so does its task (read again next run,
    from the same cursor, its snapshot kept): a warning names it, and the rest of the group goes on."""
    readable = [item for item in items if readable_date(item.date)]
    if len(readable) < len(items):
        run.details.incomplete.add(task_id)
        for item in items:
            if not readable_date(item.date):
                if hasattr(item, "text"):  # a comment or message: the task's cursor stops before it
                    held = run.details.hold_from
                    held[task_id] = min(held.get(task_id, item.id), item.id)
                run.report.warnings.append(f"task {task_id}: {what} {item.id} has a date b24mirror cannot read "
                                           f"({item.date!r}); it waits, and is read again next run")
    return readable


def read_more(ctx: Context, more: dict) -> None:
    """Follow chats and comment lists with more than a page of news, a round of requests at a time."""
    rounds = 0
    while more and rounds < MAX_CHAT_PAGES:
        rounds += 1
        queries = {key: query for key, query in ((key, _next_query(key, value)) for key, value in more.items())
                   if query is not None}
        answers = ctx.portal.run(queries)
        next_round: dict = {}
        for key, page in answers.items():
            run, task_id = key
            if isinstance(page, bitrix.BitrixError):
                run.details.read_ok.discard(task_id)
                continue
            known_last = more[key][0]
            if known_last is CLASSIC_PAGE:
                take_classic_page(run, task_id, page, next_round)
                continue
            take_chat_page(run, run.listing.tasks[task_id], page, {})
            if page.raw_count >= PAGE and page.messages:
                next_round[key] = (known_last, page)
        more = next_round
    for (run, task_id), (known_last, _) in more.items():
        run.details.incomplete.add(task_id)
        if known_last is not CLASSIC_PAGE and not known_last:
            run.details.no_progress.add(task_id)  # the newest pages were read, older news are still unread


def _next_query(key, value):
    run, task_id = key
    known_last, page = value
    task = run.listing.tasks[task_id]
    if known_last is CLASSIC_PAGE:
        return q_classic_comments(task_id, run.details.comment_cursor[task_id])
    ids = [m.id for m in page.messages]
    if known_last:
        return q_chat_messages(task_id, task.chat_id, first_id=max(ids))
    baseline = run.listing.baseline
    if baseline is not None and all(parse_date(m.date) < baseline for m in page.messages):
        return None  # walked back past the baseline: older messages are never mirrored
    return q_chat_messages(task_id, task.chat_id, last_id=min(ids))
