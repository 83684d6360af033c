"""task.checklistitem.* (positional): add -> int id, update -> null, complete/renew -> true, or false on a
wrong id, delete -> true."""
from __future__ import annotations

from typing import Any

from b24mirror.fakeportal import views
from b24mirror.fakeportal.dispatch import Caller, method, to_int
from b24mirror.fakeportal.errors import core_error
from b24mirror.fakeportal.filters import sort_rows
from b24mirror.fakeportal.params import positional

ORDERABLE = {"ID": "id", "PARENT_ID": "parent_id", "CREATED_BY": "created_by", "TITLE": "title",
             "SORT_INDEX": "sort_index", "IS_COMPLETE": "complete", "IS_IMPORTANT": "important",
             "TOGGLED_BY": "toggled_by", "TOGGLED_DATE": "toggled_date"}


def _arg(args: list, i: int) -> Any:
    return args[i] if len(args) > i else None


def _missing(n: int, name: str, fn: str):
    return core_error(f"TASKS_ERROR_EXCEPTION_#256; Param #{n} ({name}) expected by method "
                      f"ctaskchecklistitem::{fn}(), but not given.; 256/TE/WRONG_ARGUMENTS")


def _task(p, caller: Caller, args: list, fn: str, write: bool):
    tid = to_int(_arg(args, 0))
    if not tid:
        raise _missing(0, "taskId", fn)
    task = p.tasks.get(tid)
    if task is None or not p.can_see(task, caller.user_id):
        raise core_error("TASKS_ERROR_EXCEPTION_#8; Action failed; 8/TE/ACTION_FAILED_TO_BE_PROCESSED")
    if write and not (p.can_edit(task, caller.user_id) or caller.user_id in task.participants()):
        raise core_error("TASKS_ERROR_EXCEPTION_#4; No access to edit the task; 4/TE/ACTION_NOT_ALLOWED")
    return task


def _item(p, task, args: list, fn: str):
    iid = to_int(_arg(args, 1))
    if not iid:
        raise _missing(1, "itemId", fn)
    item = p.checklist.get(iid)
    if item is None or item.task_id != task.id:
        raise core_error("TASKS_ERROR_EXCEPTION_#512; Check listitem not found or not accessible; "
                         "512/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE.")
    return item


def _fields(raw: Any) -> dict:
    return {str(k).upper(): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def _yes(value: Any) -> bool:
    return str(value).strip().upper() in ("Y", "1", "TRUE")


@method("task.checklistitem.getlist", "task")
def getlist(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, caller, args, "getlist", False)
    order = _arg(args, 1)
    keys = []
    for key, direction in (order.items() if isinstance(order, dict) else []):
        attr = ORDERABLE.get(str(key).upper())
        if attr:
            keys.append((lambda i, a=attr: getattr(i, a), str(direction).lower() == "desc"))
    rows = [i for i in p.checklist.values() if i.task_id == task.id]
    rows = sort_rows(rows, keys or [(lambda i: i.id, True)])
    return [views.checklist_row(p, i) for i in rows]


@method("task.checklistitem.get", "task")
def get(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, caller, args, "get", False)
    return views.checklist_row(p, _item(p, task, args, "get"))


@method("task.checklistitem.add", "task")
def add(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, caller, args, "add", True)
    fields = _fields(_arg(args, 1))
    if not str(fields.get("TITLE") or "").strip():
        raise core_error("TASKS_ERROR_EXCEPTION_#8; Adding item: action not allowed; 8/TE/ACTION_FAILED_TO_BE_PROCESSED")
    parent = to_int(fields.get("PARENT_ID")) if "PARENT_ID" in fields else None
    members = fields.get("MEMBERS") if isinstance(fields.get("MEMBERS"), dict) else None
    return p.add_checklist_item(task.id, str(fields["TITLE"]), parent, caller.user_id,
                                complete=_yes(fields.get("IS_COMPLETE", "N")),
                                important=_yes(fields.get("IS_IMPORTANT", "N")),
                                sort_index=to_int(fields.get("SORT_INDEX")), members=members)


@method("task.checklistitem.update", "task")
def update(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, caller, args, "update", True)
    item = _item(p, task, args, "update")
    fields = _fields(_arg(args, 2))
    if "TITLE" in fields:
        item.title = str(fields["TITLE"])
    if "SORT_INDEX" in fields:
        item.sort_index = to_int(fields["SORT_INDEX"], item.sort_index)
    if "IS_IMPORTANT" in fields:
        item.important = _yes(fields["IS_IMPORTANT"])
    if "MEMBERS" in fields:  # replaced wholesale
        raw = fields["MEMBERS"] if isinstance(fields["MEMBERS"], dict) else {}
        item.members = {int(k): (v.get("TYPE", "U") if isinstance(v, dict) else str(v)) for k, v in raw.items()}
    if "IS_COMPLETE" in fields:
        p.toggle_checklist_item(item.id, _yes(fields["IS_COMPLETE"]), caller.user_id)
    return None


def _toggle(p, caller: Caller, params: Any, complete: bool, fn: str) -> bool:
    args = positional(params)
    _task(p, caller, args, fn, True)
    iid = to_int(_arg(args, 1))
    if not iid:
        raise _missing(1, "itemId", fn)
    # Looked up by ITEMID alone (the docs: not checked against TASKID); a wrong id answers false.
    return p.toggle_checklist_item(iid, complete, caller.user_id)


@method("task.checklistitem.complete", "task")
def complete(p, caller: Caller, params: Any) -> Any:
    return _toggle(p, caller, params, True, "complete")


@method("task.checklistitem.renew", "task")
def renew(p, caller: Caller, params: Any) -> Any:
    return _toggle(p, caller, params, False, "renew")


@method("task.checklistitem.delete", "task")
def delete(p, caller: Caller, params: Any) -> Any:
    args = positional(params)
    task = _task(p, caller, args, "delete", True)
    item = _item(p, task, args, "delete")
    doomed = {item.id}
    changed = True
    while changed:  # children go with their parent
        changed = False
        for other in p.checklist.values():
            if other.parent_id in doomed and other.id not in doomed:
                doomed.add(other.id)
                changed = True
    for iid in doomed:
        del p.checklist[iid]
    return True
