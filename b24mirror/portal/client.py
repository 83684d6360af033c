"""The Portal: runs queries through `batch` (many tasks and groups to a request) and makes the few writes."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from b24mirror import bitrix
from b24mirror.policy.models import PORTAL_TIMEZONE, WORLD_CHAT, Comment, MasterComment, Task
from b24mirror.portal.queries import (PAGE, TASK_SELECT, K, Page, Query, T, q_chat_messages, q_classic_comments,
                                      q_existing_task_chat, q_group_tasks, q_task_chat_id)
from b24mirror.portal.wire import BadAnswer, _parsed, _table, master_comments_from, parse_task


def learn_timezone(items) -> None:
    """The portal's time zone, from the offset of its own clock in an answer (`time.date_start`): dates in
    the site format carry none and are read in it."""
    for item in items:
        stamp = (getattr(item, "time", None) or {}).get("date_start")
        try:
            offset = datetime.fromisoformat(str(stamp)).utcoffset() if stamp else None
        except ValueError:
            offset = None
        if offset is not None:
            PORTAL_TIMEZONE.set(timezone(offset))
            return


class Portal:
    """Runs queries (batched) and the few writes b24mirror makes."""

    def __init__(self, client) -> None:
        self.client = client

    @property
    def own_user_id(self) -> int:
        return int(self.client.user_id or 0)

    @property
    def portal_url(self) -> str:
        return self.client.portal_url

    def run(self, queries: Mapping[K, Query]) -> dict[K, Any]:
        """Run every query in as few requests as batch allows; each value is a parsed result or a BitrixError."""
        if not queries:
            return {}
        keys = list(queries)
        commands = {str(i): (queries[k].method, queries[k].params) for i, k in enumerate(keys)}
        answers = self.client.batch(commands)
        learn_timezone(answers.values())
        results: dict[K, Any] = {}
        for i, key in enumerate(keys):
            item = answers[str(i)]
            results[key] = item.error if item.error is not None else _parsed(queries[key], item.result)
        return results

    def run_pages(self, queries: Mapping[K, Query]) -> dict[K, Any]:
        """Like run, but keep each answer's `total`/`next` next to its parsed items."""
        keys = list(queries)
        commands = {str(i): (queries[k].method, queries[k].params) for i, k in enumerate(keys)}
        answers = self.client.batch(commands) if commands else {}
        learn_timezone(answers.values())
        results: dict[K, Any] = {}
        for i, key in enumerate(keys):
            item = answers[str(i)]
            parsed = item.error if item.error is not None else _parsed(queries[key], item.result)
            if isinstance(parsed, bitrix.BitrixError):
                results[key] = parsed
            else:
                results[key] = Page(parsed, item.total, item.next, item.time or {})
        return results

    def all_group_tasks(self, group_id: int) -> list[Task]:
        rows = self.client.list_all("tasks.task.list", {
            "filter": {"GROUP_ID": group_id}, "order": {"ID": "asc"}, "select": TASK_SELECT,
        }, items_key="tasks", id_key="id")
        try:
            return [parse_task(row) for row in _table(rows, "tasks")]
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise BadAnswer("BAD_ANSWER", f"malformed answer ({type(exc).__name__}: {str(exc)[:200]})",
                            method="tasks.task.list") from None

    def group_tasks_many(self, first: Mapping[K, tuple]) -> dict[K, Any]:
        """Every task of several groups, from the first page of each: key -> (group id, the answer to
        q_group_tasks(group, 0) from run_pages[, {start: the answer for a later page read along}]). The
        other pages of all the groups go out together; each value is a list of tasks or a BitrixError. A
        listing that does not add up (the set changed while it was paged) is listed again by itself, as
        all_group_tasks does."""
        rest: dict = {}
        for key, (group_id, page, *along) in first.items():
            if isinstance(page, Page) and page.next is not None and page.total is not None:
                step = page.next if page.next > 0 else PAGE
                for start in range(page.next, page.total, step):
                    if start not in (along[0] if along else {}):
                        rest[(key, start)] = q_group_tasks(group_id, start)
        answers = self.run_pages(rest)
        results: dict[K, Any] = {}
        for key, (group_id, page, *along) in first.items():
            if isinstance(page, bitrix.BitrixError):
                results[key] = page
                continue
            read_along = [p for start, p in sorted((along[0] if along else {}).items())
                          if page.total is None or start < page.total]  # a page past the end is no part of it
            pages = [page] + read_along + [answer for (k, _), answer in answers.items() if k == key]
            failed = next((p for p in pages if isinstance(p, bitrix.BitrixError)), None)
            if failed is not None:
                results[key] = failed  # a failed page is an error, never a short list
                continue
            tasks = list({task.id: task for p in pages for task in p.items}.values())
            totals = {p.total for p in pages if p.total is not None}
            if (page.next is None and (page.total is None or len(tasks) >= page.total)) or (
                    page.next is not None and page.total is not None and totals == {page.total}
                    and len(tasks) == page.total):
                results[key] = tasks
                continue
            try:
                results[key] = self.all_group_tasks(group_id)
            except bitrix.BitrixError as exc:
                results[key] = exc
        return results

    def existing_chats(self, task_ids) -> dict[int, Any]:
        """Task id -> its chat id, None (no chat yet: its comments are in the forum) or the error, asking in a
        way that creates no chat (`q_existing_task_chat`): for the commands that must change nothing. Without
        the im scope there is no look-up, and `tasks.task.get` is asked instead: no chat could be read then
        either, and it names the chats that exist."""
        answers = self.run({task_id: q_existing_task_chat(task_id) for task_id in task_ids})
        answers.update(self.run({task_id: q_task_chat_id(task_id) for task_id, answer in answers.items()
                                 if isinstance(answer, bitrix.ScopeError)}))
        return answers

    def one(self, query: Query[T]) -> T:
        response = self.client.call(query.method, query.params)
        parsed = _parsed(query, response.result)
        if isinstance(parsed, bitrix.BitrixError):
            raise parsed
        return parsed

    # --- writes: never retried blindly; the caller reads back on OutcomeUnknown ----------

    def post_comments(self, master: Task, texts: list[str]) -> list:
        """Post several comments in one request, in order; stops at the first failure (halt).

        Returns one BatchItem per text: `.result` is the new id, or `.error` says why not
        (BATCH_HALTED for those after a failure: they did not run). Raises OutcomeUnknown
        when the request's own outcome is unknown: the caller reads the master back.
        """
        return self.post_many([(master, text) for text in texts])

    def post_many(self, posts: list[tuple[Task, str]]) -> list:
        """post_comments for several masters in one request: (master, text) pairs, run in order with halt."""
        commands = [self._post_command(master, text) for master, text in posts]
        answers = self.client.batch({str(i): command for i, command in enumerate(commands)}, halt=True)
        return [answers[str(i)] for i in range(len(posts))]

    def _post_command(self, master: Task, text: str) -> tuple[str, dict]:
        if master.world == WORLD_CHAT:
            return "im.message.add", {"DIALOG_ID": f"chat{master.chat_id}", "MESSAGE": text, "URL_PREVIEW": "N"}
        return "task.commentitem.add", {"0": master.id, "1": {"POST_MESSAGE": text}}

    def update_comment(self, master: Task, comment_id: int, text: str) -> None:
        if master.world == WORLD_CHAT:
            self.client.call("im.message.update", {"MESSAGE_ID": comment_id, "MESSAGE": text, "URL_PREVIEW": "N"}, write=True)
        else:
            self.client.call("task.commentitem.update", {
                "0": master.id, "1": comment_id, "2": {"POST_MESSAGE": text},
            }, write=True)

    def delete_comment(self, master: Task, comment_id: int) -> None:
        """Delete one of our own comments of the master. One already gone answers an error (the caller reads
        the master back to know: a delete is safe to repeat, and "gone" is what was asked for)."""
        if master.world == WORLD_CHAT:
            self.client.call("im.message.delete", {"MESSAGE_ID": comment_id}, write=True)
        else:
            self.client.call("task.commentitem.delete", {"0": master.id, "1": comment_id}, write=True)

    def add_auditor(self, task: Task, user_id: int) -> None:
        """Append (never replace) the user to the task's observers."""
        auditors = sorted({*task.auditors, user_id})
        self.client.call("tasks.task.update", {"taskId": task.id, "fields": {"AUDITORS": auditors}}, write=True)

    def master_comments_many(self, masters: Mapping[K, tuple]) -> dict[K, Any]:
        """master_comments for several (master, after_id[, forum_after_id]) in one batch; each value is the list
        or a BitrixError. A chat master with more than a page of news reads on by itself."""
        return self.master_comments_taken(masters, self.run(self.master_comments_queries(masters)))

    @staticmethod
    def master_comments_queries(masters: Mapping[K, tuple]) -> dict:
        """The reads of master_comments_many, to ride in a batch of other reads (keys: (key, world))."""
        queries = {}
        for key, (master, after, *forum_after) in masters.items():
            queries[(key, master.world)] = (q_chat_messages(master.id, master.chat_id, first_id=after)
                                            if master.world == WORLD_CHAT else q_classic_comments(master.id, after))
            if has_forum_beside_chat(master):
                queries[(key, "forum")] = q_classic_comments(master.id, forum_after[0] if forum_after else 0)
        return queries

    def master_comments_taken(self, masters: Mapping[K, tuple], answers: Mapping) -> dict[K, Any]:
        """master_comments_many's answers from those of master_comments_queries."""
        results: dict[K, Any] = {}
        for key, (master, after, *_) in masters.items():
            answer, forum = answers[(key, master.world)], answers.get((key, "forum"), [])
            failed = next((a for a in (answer, forum) if isinstance(a, bitrix.BitrixError)), None)
            if failed is not None or master.world != WORLD_CHAT:
                results[key] = failed if failed is not None else master_comments_from(answer)
                continue
            fresh = [m for m in answer.messages if m.id > after]
            found = master_comments_from(forum) + master_comments_from(fresh)
            if answer.raw_count >= PAGE and fresh:
                try:
                    found += self._chat_comments(master, max(m.id for m in fresh))
                except bitrix.BitrixError as exc:
                    found = exc
            results[key] = found
        return results

    def master_comments(self, master: Task, after_id: int = 0, forum_after_id: int = 0) -> list[MasterComment]:
        """Comments of the master newer than after_id, by anyone (the caller trusts only its own). A master
        switched to the new card is read in both worlds: its chat, and its forum (newer than forum_after_id)."""
        if master.world != WORLD_CHAT:
            return master_comments_from(self.one(q_classic_comments(master.id, after_id)))
        forum = self.one(q_classic_comments(master.id, forum_after_id)) if has_forum_beside_chat(master) else []
        return master_comments_from(forum) + self._chat_comments(master, after_id)

    def _chat_comments(self, master: Task, after_id: int) -> list[MasterComment]:
        found: list[Comment] = []
        first_id = after_id
        while True:
            page = self.one(q_chat_messages(master.id, master.chat_id, first_id=first_id))
            fresh = [m for m in page.messages if m.id > first_id]
            found.extend(fresh)
            if page.raw_count < PAGE or not fresh:
                break
            first_id = max(m.id for m in fresh)
        return master_comments_from(found)

def has_forum_beside_chat(master: Task) -> bool:
    """A master with a chat and forum comments too: one switched from the classic card (commentsCount counts
    only forum comments)."""
    return master.world == WORLD_CHAT and master.comments_count > 0
