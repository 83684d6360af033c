"""Phase 2, details: history, comments or chat messages, members, ancestors and authors of the
changed tasks — every group's in two batches (what each asks: asks.py), then what did not fit in a page
(chats.py), then the authors not read ahead.

A task whose reads fail stays changed (its snapshot is not taken), so it is read again next
run; a failure names the task and, where one exists, the fix.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.models import (KIND_COMMENT, WORLD_CHAT, WORLD_CLASSIC, Comment, Marker, Task, parse_date,
                                    readable_date)
from b24mirror.portal import PAGE, ChatPage, q_tasks_by_ids, q_users
from b24mirror.policy.rules import mark_service_comments
from b24mirror.sync.asks import members_as_users, parent_queries, readable, talk_queries, task_queries, world
from b24mirror.sync.chats import dated, read_more, take_chat_page, take_classic_page
from b24mirror.sync.common import Context, chunks, describe, each, log, ok, unwrap
from b24mirror.sync.records import GroupFailed, GroupRun
from b24mirror.sync.masters import read_back_wanted, take_read_back
from b24mirror.sync.worlds import take_worlds, world_queries


def read_details(ctx: Context, runs: list[GroupRun]) -> None:
    """Two batches: first whatever needs no task's world (chat look-ups, members, ancestors, history, results,
    the masters read back) with the talk of the tasks whose world is known; then the talk of the others."""
    lookups = world_queries(runs)
    read_back = read_back_wanted([run for run in runs if run.listing.dirty])
    parents, wanted = parent_queries(runs)
    first = {**{("world", key): query for key, query in lookups.items()}, **parents,
             **{("master", key): query for key, query in ctx.portal.master_comments_queries(read_back).items()}}
    for run in runs:
        first.update(task_queries(run))
        first.update(talk_queries(run, [t for t in sorted(run.listing.dirty) if t in run.listing.worlds]))
    answers = ctx.portal.run(first)
    take_worlds(ctx, {key[1]: answer for key, answer in answers.items() if key[0] == "world"})
    take_read_back(ctx, ctx.portal.master_comments_taken(
        read_back, {key[1]: answer for key, answer in answers.items() if key[0] == "master"}))
    second = members_as_users(runs, answers)
    looked_up: dict[GroupRun, set[int]] = {}
    for run, task_id in lookups:
        looked_up.setdefault(run, set()).add(task_id)
    for run in runs:
        second.update(talk_queries(run, sorted(readable(run) & looked_up.get(run, set()))))
    answers.update(ctx.portal.run(second))
    more: dict = {}

    def take(run: GroupRun) -> None:
        if run.listing.dirty:
            run.details.members = unwrap(answers[(run.gid, "members")])
            if not run.details.members:
                # A group has at least its owner: an empty list is a bad answer, not "nobody is a member" —
                # judged on it, every comment would stay out and the cursors would pass them for good.
                raise GroupFailed(f"the portal answered an empty member list for group {run.gid}; nothing was "
                                  f"judged on it, the group is read again next run")
            for key, chunk in parents.items():
                asked = set(chunk.params["filter"]["ID"]) & wanted.get(run, set())
                if asked:
                    found = own_share(ctx, answers[key], chunk.params["filter"]["ID"], asked, q_tasks_by_ids)
                    run.details.parents.update((t.id, t) for t in found if t.id in asked)
        for task_id in sorted(readable(run)):
            _take_task(ctx, run, task_id, answers, more)

    each(runs, take)
    read_more(ctx, {key: value for key, value in more.items() if key[0].report.ok})
    for run in ok(runs):
        _mark_service_comments(run)
        _set_walks_aside(run)
    _read_users(ctx, ok(runs), {uid: user for key, users in answers.items() if key[0] == "users"
                                and not isinstance(users, bitrix.BitrixError) for uid, user in users.items()})
    for run in runs:
        log.debug("group %d: %s", run.gid, run.details)


def revisited_classic(run: GroupRun, task_id: int, rows: list[Comment]) -> list[Comment]:
    """The forum comments read again, and a deleted stand-in for each mirrored one that is gone: a deleted
    classic comment disappears from task.commentitem.getlist. The list comes in id order; when it might be
    cut at a page, only ids below its last are judged gone."""
    last = int(run.snap(task_id).get("last_comment_id") or 0)
    present = {c.id for c in rows}
    judged_up_to = last if len(rows) < PAGE else min(last, max(present) if present else 0)
    gone = []
    for key in run.state.ledger.markers_of(task_id, KIND_COMMENT):  # this task's range, not the history
        marker = Marker.parse(key)
        if (marker.source_id <= judged_up_to
                and marker.source_id not in present):
            gone.append(Comment(marker.source_id, task_id, 0, "", "", "", world=WORLD_CLASSIC, deleted=True))
    return [c for c in rows if c.id <= last] + gone


def _take_task(ctx: Context, run: GroupRun, task_id: int, answers: dict, more: dict) -> None:
    task = run.listing.tasks[task_id]
    details = run.details
    read = True
    history = answers.get((run.gid, "history", task_id))  # not asked when it had no news (history_has_news)
    if isinstance(history, bitrix.BitrixError):
        read = _read_failed(ctx, run, task, history)
    elif history is not None:
        details.history[task_id] = dated(run, task_id, history, "history row")
    results = answers[(run.gid, "results", task_id)]
    if isinstance(results, bitrix.BitrixError):
        read = _read_failed(ctx, run, task, results)
    elif all(readable_date(r.date) and readable_date(r.updated) for r in results):
        details.results[task_id] = results
    else:  # judged on a part of its results, a task could lose one: it waits whole
        details.incomplete.add(task_id)
        run.report.warnings.append(f"task {task_id}: a result has a date b24mirror cannot read; the task's results "
                                   f"wait, and are read again next run")
    comments = answers.get((run.gid, "comments", task_id))
    page = answers.get((run.gid, "chat", task_id))
    answer = comments if (run.gid, "comments", task_id) in answers else page
    if isinstance(answer, bitrix.BitrixError):
        _read_failed(ctx, run, task, answer)
        read = False
    elif (run.gid, "comments", task_id) in answers:
        take_classic_page(run, task_id, comments, more)
        recent = answers.get((run.gid, "recent", task_id))
        if isinstance(recent, list):
            details.revisited.setdefault(task_id, []).extend(revisited_classic(run, task_id, recent))
    else:
        take_chat_page(run, task, page, more)
        recent = answers.get((run.gid, "recent", task_id))
        if isinstance(recent, ChatPage):
            details.revisited.setdefault(task_id, []).extend(recent.messages)
    forum = answers.get((run.gid, "forum", task_id))
    if isinstance(forum, bitrix.BitrixError):
        read = _read_failed(ctx, run, task, forum)
    elif forum is not None:
        take_classic_page(run, task_id, forum, more if (run, task_id) not in more else {})
        if len(forum) >= PAGE and (run, task_id) in more:
            details.incomplete.add(task_id)  # the chat reads on this run; the forum's rest comes next run
    if read:
        details.read_ok.add(task_id)


def _set_walks_aside(run: GroupRun) -> None:
    """A chat's first read walks back from its newest message to the baseline. When more than one run's
    reading lies between them, nothing of it is posted yet (it would go out newest first, and a walk begun
    again from the top would never reach the rest): the walk goes on from its lowest message next run
    (`walk_back` in the snapshot); once it reaches the baseline, the chat is read forwards from there,
    oldest first, like any other (commit.py sets the cursor)."""
    details, baseline = run.details, run.listing.baseline
    for task_id in list(details.comments):
        snap = run.snap(task_id)
        walking = bool(snap.get("walk_back")) and not snap.get("last_message_id")
        if task_id not in details.no_progress and not walking:
            continue
        messages = details.comments.pop(task_id)
        details.chat_cursor.pop(task_id, None)
        after = [m.id for m in messages if baseline is None or parse_date(m.date) >= baseline]
        details.walks[task_id] = (min((m.id for m in messages), default=None), min(after, default=None))
        details.incomplete.add(task_id)


def _mark_service_comments(run: GroupRun) -> None:
    """The portal's own comments among the forum rows, by its own signal (rules.mark_service_comments)."""
    details = run.details
    for task_id, comments in details.comments.items():
        task = run.listing.tasks[task_id]
        if not any(c.world == WORLD_CLASSIC for c in comments):
            continue  # a chat flags its own system messages; a switched task's forum rows are judged here
        new_service = task.service_comments_count - int(run.snap(task_id).get("service") or 0)
        details.comments[task_id] = mark_service_comments(comments, details.history.get(task_id, []), new_service)


def _read_users(ctx: Context, runs: list[GroupRun], read_ahead: dict) -> None:
    """Classic comments carry no extranet flag: ask user.get about their authors, once per run, every
    group's in the same lists (a user is the portal's, not a group's); those read ahead are not asked."""
    wanted = {}
    for run in runs:
        details = run.details
        read = [*details.comments.values(), *details.revisited.values()]  # an edit is judged like a first post
        wanted[run] = {c.author_id for cs in read for c in cs if c.author_id} - set(details.users)
        details.users.update((uid, read_ahead[uid]) for uid in wanted[run] if uid in read_ahead)
    every = sorted(set().union(*wanted.values()) - set(read_ahead)) if wanted else []
    queries = {i: q_users(chunk) for i, chunk in enumerate(chunks(every))}
    answers = ctx.portal.run(queries)

    def take(run: GroupRun) -> None:  # a failed user.get is the failure of the groups that asked, not the run's
        for i, chunk in queries.items():
            asked = set(chunk.params["FILTER"]["ID"]) & wanted[run]
            if asked:
                found = own_share(ctx, answers[i], chunk.params["FILTER"]["ID"], asked, q_users)
                run.details.users.update((uid, user) for uid, user in found.items() if uid in asked)

    each(runs, take)


def own_share(ctx: Context, answer, ids: list[int], asked: set[int], query):
    """A group's part of a list by id several groups shared. When the shared list failed, the group asks
    again for its own ids alone: one group's unreadable id must not fail the others."""
    if isinstance(answer, bitrix.BitrixError) and set(ids) - asked:
        answer = ctx.portal.run({0: query(sorted(asked))})[0]
    return unwrap(answer)


def _read_failed(ctx: Context, run: GroupRun, task: Task, error: bitrix.BitrixError) -> bool:
    """Say why a task could not be read (with the fix); False: the task is read again next run."""
    if isinstance(error, bitrix.ScopeError):
        raise GroupFailed(f"the webhook lacks the `{error.scope}` scope needed to read task {task.id}; "
                          f"add it to the webhook (Developer resources → Inbound webhook)")
    if isinstance(error, bitrix.PermissionDenied) and world(run, task) == WORLD_CHAT:
        if run.config.auto_observe and not ctx.options.dry_run:
            ctx.portal.add_auditor(task, ctx.me)
            run.report.notes.append(f"task {task.id}: added user {ctx.me} as an observer to read its chat "
                                    f"(auto_observe)")
        else:
            run.report.warnings.append(
                f"task {task.id}: user {ctx.me} is not a participant of its chat; add user {ctx.me} as an observer "
                f"of task {task.id}, or set auto_observe: true for group {run.gid}")
        return False
    run.report.warnings.append(f"task {task.id}: {describe(error)}")
    return False
