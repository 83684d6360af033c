"""With `checklist: true`, keep the master's checklist in line with its first-level subtasks.

Decided from the state first (checklist.needs_work): a run in which no subtask changed reads
nothing. Otherwise the checklist is read once, our items found in it, and the writes made one by
one through the client (write=True: never retried blindly). The state records each write as it
is made. An add whose answer is lost is settled by reading the checklist back: the item is found
by its "#ID " prefix and our user as its creator, never added twice.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.checklist import ADD, COMPLETE, REMOVE, RENAME, RENEW, Action, ChecklistItem, needs_work, ours, \
    plan_actions, wanted
from b24mirror.stopping import write_in_flight
from b24mirror.sync.common import Context, describe
from b24mirror.sync.records import GroupFailed, GroupRun

ADDS_PER_REQUEST = 25
MAPPED = "checklist"  # group meta: subtask id -> {"item": id, "title": shown title, "done": ticked by us}


def sync_checklist(ctx: Context, run: GroupRun) -> None:
    mapped = run.state.meta.setdefault(MAPPED, {})
    want = wanted(run.listing.tasks, run.master, mapped, full=run.listing.full, rules=run.config.rules,
                  language=run.config.language)
    if not needs_work(want, mapped):
        return
    items = read_checklist(ctx, run)
    actions = plan_actions(want, mapped, items, ctx.me)
    adds = [a for a in actions if a.kind == ADD]
    for start in range(0, len(adds), ADDS_PER_REQUEST):  # a group's first checklist: its items in few requests
        with write_in_flight():
            _add_many(ctx, run, adds[start:start + ADDS_PER_REQUEST], mapped)
        ctx.state.save()
    for action in actions:
        if action.kind != ADD:
            with write_in_flight():
                _apply(ctx, run, action, mapped)
        run.report.checklist[action.kind] = run.report.checklist.get(action.kind, 0) + 1
    ctx.state.save()


def _add_many(ctx: Context, run: GroupRun, adds: list[Action], mapped: dict) -> None:
    """Add items in one request with halt, in order; each recorded as soon as its id is known. Whatever
    got no answer is looked for in the checklist itself (our prefix, our user), never added again blindly."""
    master = run.target.id
    commands = {str(i): ("task.checklistitem.add", {"0": master, "1": {"TITLE": a.title}}) for i, a in enumerate(adds)}
    try:
        answers = ctx.portal.client.batch(commands, halt=True)
    except bitrix.OutcomeUnknown:
        answers = {}
    unknown = []
    for i, action in enumerate(adds):
        item = answers.get(str(i))
        try:
            item_id = int(item.result) if item is not None and item.error is None else 0
        except (TypeError, ValueError):
            item_id = 0
        if item_id > 0:
            _added(ctx, run, action, item_id, mapped)
        elif item is None or item.error is None or isinstance(item.error, bitrix.OutcomeUnknown):
            unknown.append(action)
        elif getattr(item.error, "code", "") != "BATCH_HALTED":
            raise GroupFailed(f"adding the checklist item {action.title!r} was refused: {describe(item.error)}")
    if unknown:
        items = read_checklist(ctx, run)
        for action in unknown:
            found = ours(items, action.task_id, ctx.me)
            if found is None:
                raise GroupFailed(f"adding the checklist item {action.title!r} got no answer and it is not in the "
                                  "checklist; it is added next run")
            _added(ctx, run, action, found.id, mapped)


def _added(ctx: Context, run: GroupRun, action: Action, item_id: int, mapped: dict) -> None:
    key = str(action.task_id)
    mapped[key] = {"item": item_id, "title": action.title, "done": False}
    if run.listing.tasks[action.task_id].status == 5:
        ctx.portal.client.call("task.checklistitem.complete", {"0": run.target.id, "1": item_id}, write=True)
        mapped[key]["done"] = True


def read_checklist(ctx: Context, run: GroupRun) -> list[ChecklistItem]:
    return checklist_items(ctx.portal, run.target.id)


def checklist_items(portal, master_id: int) -> list[ChecklistItem]:
    """The master's checklist as it is now (sync, audit and repair read it the same way)."""
    rows = portal.client.call("task.checklistitem.getlist", {"0": master_id, "1": {"ID": "asc"}}).result
    try:
        return [ChecklistItem(int(r["ID"]), str(r.get("TITLE") or ""), int(r.get("CREATED_BY") or 0),
                              str(r.get("IS_COMPLETE")).upper() == "Y", int(r.get("PARENT_ID") or 0))
                for r in (rows or []) if isinstance(r, dict)]
    except (KeyError, TypeError, ValueError) as exc:
        raise GroupFailed(f"the master's checklist came back malformed ({type(exc).__name__}); "
                          "it is read again next run") from None


def _apply(ctx: Context, run: GroupRun, action: Action, mapped: dict) -> None:
    master, key = run.target.id, str(action.task_id)
    call = ctx.portal.client.call
    if action.kind == ADD:
        item_id = _add(ctx, run, action)
        task = run.listing.tasks[action.task_id]
        mapped[key] = {"item": item_id, "title": action.title, "done": False}
        if task.status == 5:
            call("task.checklistitem.complete", {"0": master, "1": item_id}, write=True)
            mapped[key]["done"] = True
    elif action.kind == REMOVE:
        call("task.checklistitem.delete", {"0": master, "1": action.item_id}, write=True)
        mapped.pop(key, None)
    elif action.kind == RENAME:
        call("task.checklistitem.update", {"0": master, "1": action.item_id, "2": {"TITLE": action.title}}, write=True)
        mapped[key]["title"] = action.title
    elif action.kind in (COMPLETE, RENEW):
        method = "task.checklistitem.complete" if action.kind == COMPLETE else "task.checklistitem.renew"
        call(method, {"0": master, "1": action.item_id}, write=True)
        mapped[key]["done"] = action.kind == COMPLETE


def _add(ctx: Context, run: GroupRun, action: Action) -> int:
    try:
        return int(ctx.portal.client.call("task.checklistitem.add", {"0": run.target.id, "1": {"TITLE": action.title}},
                                          write=True).result)
    except bitrix.OutcomeUnknown as exc:
        found = ours(read_checklist(ctx, run), action.task_id, ctx.me)  # did it land? the checklist says
        if found is None:
            raise GroupFailed(f"adding the checklist item {action.title!r} got no answer and it is not in the "
                              f"checklist ({describe(exc)}); it is added next run") from None
        return found.id
