"""user.get, user.current, profile (users) and sonet_group.get, sonet_group.user.get (groups)."""
from __future__ import annotations

from typing import Any

from b24mirror.fakeportal import views
from b24mirror.fakeportal.dispatch import Caller, Reply, method, page, to_int
from b24mirror.fakeportal.errors import RestError
from b24mirror.fakeportal.filters import BadFilter, compile_filter, sort_rows
from b24mirror.fakeportal.params import ci_get

USER_FIELDS = {
    "ID": (lambda u: u.id, "int"),
    "ACTIVE": (lambda u: "Y" if u.active else "N", "yn"),
    "NAME": (lambda u: u.name, "str"),
    "LAST_NAME": (lambda u: u.last_name, "str"),
    "EMAIL": (lambda u: u.email, "str"),
    "USER_TYPE": (lambda u: "extranet" if u.extranet else "employee", "str"),
    "UF_DEPARTMENT": (lambda u: u.departments, "ids"),
    "IS_ADMIN": (lambda u: "Y" if u.admin else "N", "yn"),
}
GROUP_FIELDS = {
    "ID": (lambda g: g.id, "int"),
    "NAME": (lambda g: g.name, "str"),
    "OWNER_ID": (lambda g: g.owner_id, "int"),
    "ACTIVE": (lambda g: "Y" if g.active else "N", "yn"),
    "VISIBLE": (lambda g: "Y" if g.visible else "N", "yn"),
    "OPENED": (lambda g: "Y" if g.opened else "N", "yn"),
    "CLOSED": (lambda g: "Y" if g.closed else "N", "yn"),
    "PROJECT": (lambda g: "Y" if g.project else "N", "yn"),
    "DATE_CREATE": (lambda g: g.created, "date"),
}
USER_GET_OPTIONS = {"sort", "order", "filter", "admin_mode", "start", "select", "image_resize", "auth"}


def _filter_error(exc: BadFilter) -> RestError:
    return RestError("INVALID_FILTER", f"Invalid filter value for {exc.key}", 400)


@method("user.get", "user")
def user_get(p, caller: Caller, params: dict) -> Reply:
    params = params if isinstance(params, dict) else {}
    flt = dict(ci_get(params, "FILTER") or {}) if isinstance(ci_get(params, "FILTER"), dict) else {}
    for key, value in params.items():  # user.get?ID=5: loose top-level keys filter too
        if str(key).lower() not in USER_GET_OPTIONS:
            flt[key] = value
    try:
        keep = compile_filter(flt, USER_FIELDS, p.tz)
    except BadFilter as exc:
        raise _filter_error(exc) from None
    sort = views.upper_snake(str(ci_get(params, "sort") or "ID"))
    desc = str(ci_get(params, "order") or "asc").lower() == "desc"
    getter = USER_FIELDS.get(sort, USER_FIELDS["ID"])[0]
    try:
        rows = sort_rows([u for u in p.users.values() if keep(u)], [(getter, desc)])
    except BadFilter as exc:
        raise _filter_error(exc) from None
    reply = page(rows, ci_get(params, "start"))
    reply.result = [views.user_row(p, u) for u in reply.result]
    return reply


@method("user.current", "user")
def user_current(p, caller: Caller, params: Any) -> Any:
    return views.user_row(p, p.users[caller.user_id])


@method("profile", None)  # scope basic: every webhook and token has it
def profile(p, caller: Caller, params: Any) -> Any:
    u = p.users[caller.user_id]
    if not u.active:
        return []
    return {"ID": str(u.id), "ADMIN": u.admin, "NAME": u.name, "LAST_NAME": u.last_name,
            "PERSONAL_GENDER": u.gender, "TIME_ZONE": ""}


@method("sonet_group.get", "sonet_group")
def group_get(p, caller: Caller, params: dict) -> Reply:
    params = params if isinstance(params, dict) else {}
    user = p.users[caller.user_id]
    as_admin = user.admin and str(ci_get(params, "IS_ADMIN") or "").upper() == "Y"
    flt = ci_get(params, "FILTER")
    flt = dict(flt) if isinstance(flt, dict) else {}
    if ci_get(params, "GROUP_ID") not in (None, ""):
        flt["ID"] = ci_get(params, "GROUP_ID")
    try:
        keep = compile_filter(flt, GROUP_FIELDS, p.tz)
        rows = [g for g in p.groups.values() if keep(g)
                and (as_admin or g.visible or g.is_member(caller.user_id))]
    except BadFilter as exc:
        raise _filter_error(exc) from None
    order = ci_get(params, "ORDER")
    keys = []
    for key, direction in (order.items() if isinstance(order, dict) else []):
        if str(key).upper() in GROUP_FIELDS:
            keys.append((GROUP_FIELDS[str(key).upper()][0], str(direction).lower() == "desc"))
    rows = sort_rows(rows, keys or [(GROUP_FIELDS["ID"][0], True)])  # no ORDER: ID descending
    reply = page(rows, ci_get(params, "start"))
    reply.result = [views.group_row(p, g) for g in reply.result]
    return reply


@method("sonet_group.user.get", "sonet_group")
def group_user_get(p, caller: Caller, params: dict) -> Any:
    gid = to_int(ci_get(params, "ID") if isinstance(params, dict) else None)
    if not gid:
        raise RestError("", "Wrong socialnetwork group ID", 400)
    group = p.groups.get(gid)
    if group is None or not _sees_group(p, caller.user_id, group):
        raise RestError("", "Socialnetwork group not found", 400)
    # Relation id ascending; owners, moderators and members (requests Z left out); active users only; no paging.
    rows = sorted((group.relation_ids.get(uid, 0), uid, role) for uid, role in group.members.items()
                  if group.is_member(uid) and uid in p.users and p.users[uid].active)
    return [{"USER_ID": str(uid), "ROLE": role} for _, uid, role in rows]


def _sees_group(p, uid: int, group) -> bool:
    user = p.users.get(uid)
    return bool(user and (user.admin or group.visible or group.is_member(uid)))
