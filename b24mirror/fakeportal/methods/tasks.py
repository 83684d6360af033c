"""tasks.task.list / get / update / history.list (scope task): camelCase out, UPPER_CASE in."""
from __future__ import annotations

from typing import Any

from b24mirror.fakeportal import views
from b24mirror.fakeportal.dispatch import Caller, Reply, method, page, to_int
from b24mirror.fakeportal.errors import core_error, task_error
from b24mirror.fakeportal.filters import BadFilter, compile_filter, sort_rows
from b24mirror.fakeportal.params import ci_get

TASK_FIELDS = {
    "ID": (lambda t: t.id, "int"),
    "PARENT_ID": (lambda t: t.parent_id or 0, "int"),
    "GROUP_ID": (lambda t: t.group_id, "int"),
    "CREATED_BY": (lambda t: t.created_by, "int"),
    "RESPONSIBLE_ID": (lambda t: t.responsible_id, "int"),
    "STATUS_CHANGED_BY": (lambda t: t.status_changed_by, "int"),
    "CHANGED_BY": (lambda t: t.changed_by, "int"),
    "STATUS": (lambda t: t.status, "int"),
    "REAL_STATUS": (lambda t: t.status, "int"),
    "PRIORITY": (lambda t: t.priority, "int"),
    "FORUM_TOPIC_ID": (lambda t: t.forum_topic_id, "int"),
    "TITLE": (lambda t: t.title, "str"),
    "CREATED_DATE": (lambda t: t.created, "date"),
    "CHANGED_DATE": (lambda t: t.changed, "date"),
    "CLOSED_DATE": (lambda t: t.closed, "date"),
    "DEADLINE": (lambda t: t.deadline, "date"),
    "STATUS_CHANGED_DATE": (lambda t: t.status_changed, "date"),
    # Documented for sorting only; filtering on it works here, a client should not depend on it.
    "ACTIVITY_DATE": (lambda t: t.activity, "date"),
    "AUDITOR": (lambda t: t.auditors, "ids"),
    "ACCOMPLICE": (lambda t: t.accomplices, "ids"),
    "MEMBER": (lambda t: list(t.participants()), "ids"),
}

SORTABLE = {"ID", "TITLE", "CREATED_DATE", "CHANGED_DATE", "CLOSED_DATE", "ACTIVITY_DATE", "DEADLINE", "REAL_STATUS",
            "STATUS", "GROUP_ID", "PRIORITY", "RESPONSIBLE_ID", "CREATED_BY", "STATUS_CHANGED_DATE", "PARENT_ID",
            "CHANGED_BY"}


def _select(params: dict) -> list[str] | None:
    select = ci_get(params, "select")
    if select in (None, "", []):
        return None
    if isinstance(select, str):
        return [select]
    if isinstance(select, dict):  # {} from JSON, or select[a]=x: the portal insists on a list
        raise task_error("100", f"Invalid value {{}} to match with parameter {{select}}. Should be value of type array.")
    return [str(s) for s in select]


def _order(p, order: Any) -> list:
    if not order:
        return [(TASK_FIELDS["ID"][0], True)]
    if not isinstance(order, dict):
        raise task_error("0", "Invalid sorting key")
    out = []
    for key, direction in order.items():
        name = views.upper_snake(str(key))
        if name not in SORTABLE:
            raise task_error("0", "Invalid sorting key")
        out.append((TASK_FIELDS[name][0], str(direction).lower() == "desc"))
    return out


@method("tasks.task.list", "task")
def task_list(p, caller: Caller, params: dict) -> Reply:
    params = params if isinstance(params, dict) else {}
    select = _select(params)
    order = _order(p, ci_get(params, "order"))
    try:
        keep = compile_filter(ci_get(params, "filter"), TASK_FIELDS, p.tz, lenient_dates=True)
        rows = [t for t in p.tasks.values() if p.can_see(t, caller.user_id) and keep(t)]
    except BadFilter as exc:
        raise task_error("0", f"Wrong filter value for field {exc.key}: {exc.value!r}") from None
    rows = sort_rows(rows, order)
    reply = page(rows, ci_get(params, "start"))
    options = ci_get(params, "params")
    reply.result = {"tasks": [views.task_selected(p, t, caller.user_id, select, options, in_list=True)
                              for t in reply.result]}
    return reply


def _task_id(params: dict, name: str = "taskId") -> int:
    raw = ci_get(params, name) if isinstance(params, dict) else None
    if raw in (None, ""):
        raise task_error("100", f"Param #0 ({name}) for method ctaskitem expected, but not given.")
    tid = to_int(raw)
    if tid is None or tid <= 0:
        raise task_error("0", "wrong task id")
    return tid


@method("tasks.task.get", "task")
def task_get(p, caller: Caller, params: dict) -> Any:
    tid = _task_id(params)
    select = _select(params)
    task = p.tasks.get(tid)
    if task is None or not p.can_see(task, caller.user_id):
        return []  # not an error: the portal answers result: [] for a missing or hidden task
    p.opened_by_reading(task)  # the provider gives a switched task its chat when it answers chatId
    return {"task": views.task_selected(p, task, caller.user_id, select, ci_get(params, "params"))}


@method("tasks.task.update", "task")
def task_update(p, caller: Caller, params: dict) -> Any:
    tid = _task_id(params)
    fields = ci_get(params, "fields")
    if not isinstance(fields, dict) or not fields:
        raise task_error("100", "Invalid value {} to match with parameter {fields}. Should be value of type array.")
    task = p.tasks.get(tid)
    if task is None:
        raise task_error("0", "wrong task id")
    fields = {views.upper_snake(str(k)): v for k, v in fields.items()}
    uid = caller.user_id
    # Anyone who sees a task may start watching it: adding only oneself to AUDITORS needs no edit right.
    self_watch = set(fields) == {"AUDITORS"} and set(p._ids_list(fields["AUDITORS"])) == set(task.auditors) | {uid}
    if not p.can_see(task, uid) or not (p.can_edit(task, uid) or self_watch):
        raise task_error("0", "Action on the task is not allowed")
    if "STATUS" in fields and to_int(fields["STATUS"]) not in range(1, 8):
        raise core_error("Invalid task status")
    for key in ("RESPONSIBLE_ID",):
        if key in fields and to_int(fields[key]) not in p.users:
            raise core_error("Responsible person not found")
    if "GROUP_ID" in fields and to_int(fields["GROUP_ID"], 0) and to_int(fields["GROUP_ID"]) not in p.groups:
        raise core_error("Group not found")
    if "PARENT_ID" in fields and to_int(fields["PARENT_ID"], 0):
        parent = to_int(fields["PARENT_ID"])
        seen = parent
        while seen:  # a cycle: the new parent is the task itself or one of its descendants
            if seen == tid:
                raise core_error("Cannot bind the node to itself" if parent == tid else "Cyclic link between tasks")
            seen = p.tasks[seen].parent_id if seen in p.tasks else None
    if "DEADLINE" in fields and fields["DEADLINE"] not in (None, ""):
        from b24mirror.fakeportal import dates
        if dates.parse(fields["DEADLINE"], p.tz) is None:
            raise core_error("Invalid deadline value")
    p.update_fields(tid, fields, uid)
    return {"task": views.task_full(p, task, uid)}


@method("tasks.task.history.list", "task")
def history_list(p, caller: Caller, params: dict) -> Any:
    tid = _task_id(params)
    task = p.tasks.get(tid)
    if task is None:
        return {"list": []}
    if not p.can_see(task, caller.user_id):
        raise task_error("0", "Access denied.")
    try:
        keep = compile_filter(_upper_values(ci_get(params, "filter"), "FIELD"), HISTORY_FIELDS, p.tz)
    except BadFilter as exc:
        raise task_error("0", f"Wrong filter value for field {exc.key}: {exc.value!r}") from None
    rows = [r for r in task.history if keep(r)]
    order = ci_get(params, "order")
    keys = []
    for key, direction in (order.items() if isinstance(order, dict) else []):
        if views.upper_snake(str(key)) in ("CREATED_DATE", "ID"):
            keys.append((lambda r: (r.date, r.id), str(direction).lower() == "desc"))
    # No order: CREATED_DATE ascending in the source, newest first in the docs (the reading history_default_order).
    newest_first = p.reading("history_default_order") == "desc"
    rows = sort_rows(rows, keys or [(lambda r: (r.date, r.id), newest_first)])
    return {"list": [views.history_row(p, r) for r in rows]}


HISTORY_FIELDS = {
    "CREATED_DATE": (lambda r: r.date, "date"),
    "USER_ID": (lambda r: r.user_id, "int"),
    "TASK_ID": (lambda r: r.task_id, "int"),
    "FIELD": (lambda r: r.field, "str"),
}


def _upper_values(flt: Any, name: str) -> Any:
    """Field names are matched upper-case ('status' finds STATUS rows)."""
    if not isinstance(flt, dict):
        return flt
    out = {}
    for key, value in flt.items():
        if str(key).lstrip("!<>=@").upper() == name:
            value = [str(v).upper() for v in value] if isinstance(value, list) else str(value).upper()
        out[key] = value
    return out
