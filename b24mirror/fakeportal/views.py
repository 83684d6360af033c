"""Model records -> REST payloads, with the portal's quirks: string ids in task/comment/checklist data,
ints in im data, camelCase keys in tasks.task.*, empty maps as [] (PHP arrays)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from b24mirror.fakeportal import dates
from b24mirror.fakeportal.model import ChecklistItem, Comment, Group, HistoryRow, Message, Task, User

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.fakeportal.portal import FakePortal

AVATAR = "/bitrix/images/tasks/default_avatar.png"


def php_map(d: dict) -> Any:
    """PHP serialises an empty associative array as []."""
    return d if d else []


def camel(upper: str) -> str:
    """'PARENT_ID' -> 'parentId' (the tasks.task.* output names)."""
    parts = upper.lower().split("_")
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def upper_snake(name: str) -> str:
    """'parentId' -> 'PARENT_ID'; UPPER_CASE stays as is."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).upper()


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def task_user(p: "FakePortal", uid: int) -> dict:
    user = p.users.get(uid)
    return {"id": str(uid), "name": user.full_name if user else "", "link": f"/company/personal/user/{uid}/",
            "icon": AVATAR, "workPosition": user.work_position if user else ""}


def task_group(p: "FakePortal", gid: int) -> Any:
    group = p.groups.get(gid)
    if not group:
        return []
    return {"id": str(gid), "name": group.name, "opened": group.opened, "membersCount": len(group.member_ids()),
            "image": "", "additionalData": []}


def _action(p: "FakePortal", task: Task, uid: int) -> dict:
    edit = p.can_edit(task, uid)
    return {"accept": False, "decline": False, "complete": task.status != 5, "approve": False, "disapprove": False,
            "start": task.status in (1, 2), "pause": task.status == 3, "delegate": edit, "remove": edit, "edit": edit,
            "defer": task.status != 6, "renew": task.status in (5, 6), "create": True, "changeDeadline": edit,
            "checklistAddItems": edit, "addFavorite": True, "deleteFavorite": False, "rate": edit, "take": False,
            "edit.originator": False, "checklist.reorder": edit, "elapsedtime.add": True,
            "dayplan.timer.toggle": False, "edit.plan": edit, "checklist.add": edit, "favorite.add": True,
            "favorite.delete": False}


def _checklist_tree(uid: int) -> dict:
    return {"nodeId": 0, "fields": {"id": None, "copiedId": None, "entityId": None, "userId": uid, "createdBy": None,
                                     "parentId": None, "title": "", "sortIndex": None, "displaySortIndex": "",
                                     "isComplete": False, "isImportant": False, "completedCount": 0, "members": [],
                                     "attachments": [], "nodeId": None},
            "action": [], "descendants": []}


def task_full(p: "FakePortal", task: Task, viewer: int) -> dict:
    """Every field tasks.task.get returns without a select (the union of the documented samples)."""
    status = str(task.status)
    sub_status = "-1" if task.deadline and task.deadline < p.now_ts() and task.status not in (5, 6) else status
    return {
        "id": str(task.id), "parentId": _s(task.parent_id), "title": task.title, "description": task.description,
        "mark": "", "priority": str(task.priority), "multitask": "N", "notViewed": "N", "replicate": "N",
        "stageId": str(task.stage_id), "sprintId": None, "backlogId": None, "createdBy": str(task.created_by),
        "createdDate": p.out_date(task.created), "responsibleId": str(task.responsible_id),
        "changedBy": str(task.changed_by), "changedDate": p.out_date(task.changed),
        "statusChangedBy": str(task.status_changed_by), "statusChangedDate": p.out_date(task.status_changed),
        "closedBy": str(task.closed_by), "closedDate": p.out_date(task.closed), "activityDate": p.out_date(task.activity),
        "dateStart": None, "deadline": p.out_date(task.deadline), "startDatePlan": None, "endDatePlan": None,
        "guid": task.guid, "xmlId": None, "commentsCount": str(p.comments_count(task)),
        "serviceCommentsCount": str(sum(1 for c in task.comments if c.service and not c.deleted)),
        "allowChangeDeadline": "N", "allowTimeTracking": "N", "taskControl": "N", "addInReport": "N",
        "forkedByTemplateId": None, "timeEstimate": "0", "timeSpentInLogs": None, "matchWorkTime": "N",
        "forumTopicId": str(task.forum_topic_id), "forumId": "11", "siteId": "s1", "subordinate": "N",
        "exchangeModified": None, "exchangeId": None, "outlookVersion": "1", "viewedDate": None, "sorting": None,
        "durationFact": None, "isMuted": "N", "isPinned": "N", "isPinnedInGroup": "N", "flowId": None,
        "descriptionInBbcode": "Y", "status": status, "subStatus": sub_status, "durationPlan": "0",
        "durationType": "days", "favorite": "N", "groupId": str(task.group_id), "chatId": task.chat_id,
        "auditors": [str(u) for u in task.auditors], "accomplices": [str(u) for u in task.accomplices],
        "checklist": [], "group": task_group(p, task.group_id), "creator": task_user(p, task.created_by),
        "responsible": task_user(p, task.responsible_id),
        "accomplicesData": php_map({str(u): task_user(p, u) for u in task.accomplices}),
        "auditorsData": php_map({str(u): task_user(p, u) for u in task.auditors}),
        "newCommentsCount": 0, "lengthDeadline": "1" if task.deadline else "0",
        "taskRequireResult": "N", "taskHasOpenResult": "N", "taskHasResult": "N", "timeElapsed": None,
        "timerIsRunningForCurrentUser": "N", "parsedDescription": task.description,
        "counter": {"counters": {"expired": 0, "newComments": 0, "projectExpired": 0, "projectNewComments": 0,
                                 "mutedExpired": 0, "mutedNewComments": 0}, "color": "gray", "value": 0},
        "tags": [], "ufCrmTask": [], "ufTaskWebdavFiles": [], "ufMailMessage": None,
        "action": _action(p, task, viewer), "checkListTree": _checklist_tree(viewer), "checkListCanAdd": True,
    }


# Computed objects the portal adds to any selection (as in the list sample and the chatId variant).
_ALWAYS = ("id", "favorite", "group")
# Fields that come only when asked for through `params` (the list sample's request) ...
_BY_PARAM = {"WITH_RESULT_INFO": ("taskRequireResult", "taskHasOpenResult", "taskHasResult"),
             "WITH_TIMER_INFO": ("timeElapsed", "timerIsRunningForCurrentUser"),
             "WITH_PARSED_DESCRIPTION": ("parsedDescription",)}
_GATED = {key for keys in _BY_PARAM.values() for key in keys} | {"counter", "action", "chatId"}
# ... and fields a selected field brings along.
_COMPANIONS = {"responsibleId": ("responsible",), "createdBy": ("creator",), "auditors": ("auditorsData",),
               "accomplices": ("accomplicesData",), "status": ("subStatus",), "description": ("descriptionInBbcode",),
               "deadline": ("lengthDeadline",)}


def task_selected(p: "FakePortal", task: Task, viewer: int, select: list[str] | None,
                  options: dict | None = None, in_list: bool = False) -> dict:
    """A task as tasks.task.get (in_list False) or tasks.task.list answers it. `options` is the request's
    `params`: WITH_RESULT_INFO, WITH_TIMER_INFO, WITH_PARSED_DESCRIPTION. select COUNTERS adds `counter`;
    `action` comes with tasks.task.get only; chatId with tasks.task.get, and in lists only under the reading
    list_chat_id=present."""
    full = task_full(p, task, viewer)
    wanted = {str(name).upper() for name in select or ()}
    everything = not wanted or "*" in wanted
    out = {k: v for k, v in full.items() if k not in _GATED} if everything else {k: full[k] for k in _ALWAYS}
    for name in wanted - {"*"}:
        key = camel(name)
        if key in full and key not in _GATED:
            out[key] = full[key]
            for extra in _COMPANIONS.get(key, ()):
                out[extra] = full[extra]
    options = {str(k).upper(): v for k, v in (options or {}).items()} if isinstance(options, dict) else {}
    for param, keys in _BY_PARAM.items():
        if _truthy(options.get(param)):
            out.update({k: full[k] for k in keys})
    if "COUNTERS" in wanted:
        out["counter"] = full["counter"]
    if not in_list:
        out["action"] = full["action"]
    if everything or "CHAT_ID" in wanted:
        if not in_list or p.reading("list_chat_id") == "present":
            out["chatId"] = full["chatId"]
    return out


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().upper() in ("Y", "1", "TRUE")


def comment_row(p: "FakePortal", c: Comment) -> dict:
    author = p.users.get(c.author_id)
    return {"POST_MESSAGE_HTML": None, "ID": str(c.id), "AUTHOR_ID": str(c.author_id),
            "AUTHOR_NAME": author.full_name if author else "", "AUTHOR_EMAIL": "",
            "POST_DATE": p.out_date(c.date), "POST_MESSAGE": c.text, "ATTACHED_OBJECTS": php_map(dict(c.attachments))}


def history_row(p: "FakePortal", h: HistoryRow) -> dict:
    user = p.users.get(h.user_id)
    return {"id": h.id, "createdDate": p.out_date(h.date), "field": h.field,
            "value": {"from": h.value_from, "to": h.value_to},
            "user": {"id": h.user_id, "name": user.name if user else "", "lastName": user.last_name if user else "",
                     "secondName": user.second_name if user else "", "login": user.login if user else ""}}


def message(p: "FakePortal", m: Message, unread: bool = False) -> dict:
    return {"id": m.id, "chat_id": m.chat_id, "author_id": m.author_id, "date": p.iso(m.date), "text": m.text,
            "unread": unread, "uuid": m.uuid, "replaces": [], "params": php_map(dict(m.params)),
            "disappearing_date": None}


def chat_file(p: "FakePortal", file_id: int, f: dict) -> dict:
    """One entry of im.dialog.messages.get's files[] (the sample's shape): a message names it in
    params.FILE_ID."""
    name = str(f.get("NAME", ""))
    url = f"https://{p.domain}/bitrix/services/main/ajax.php?action=disk.api.file.download&fileId={file_id}"
    return {"id": file_id, "chatId": f["chat"], "date": p.iso(p.now_ts()), "type": "file", "name": name,
            "extension": name.rsplit(".", 1)[-1] if "." in name else "", "size": int(f.get("SIZE") or 0),
            "image": False, "status": "done", "progress": 100, "authorId": f["author"],
            "authorName": p.users[f["author"]].full_name if f["author"] in p.users else "",
            "urlPreview": "", "urlShow": url, "urlDownload": url + "&fileName=" + name, "viewerAttrs": {}}


_COLORS = ("#4ba984", "#df532d", "#1eb4aa", "#ab7761", "#29619b", "#e64a19")


def im_user(p: "FakePortal", u: User) -> dict:
    return {"id": u.id, "active": u.active, "name": u.full_name, "first_name": u.name, "last_name": u.last_name,
            "work_position": u.work_position, "color": _COLORS[u.id % len(_COLORS)], "avatar": "", "avatar_hr": "",
            "gender": u.gender or "M", "birthday": "", "extranet": u.extranet, "network": False, "bot": False,
            "connector": False, "external_auth_id": "default", "status": "online", "idle": False,
            "last_activity_date": p.iso(p.now_ts()), "mobile_last_date": False, "desktop_last_date": False,
            "absent": False, "departments": list(u.departments), "phones": False, "bot_data": None,
            "type": "extranet" if u.extranet else "user", "website": "", "email": u.email}


def user_row(p: "FakePortal", u: User) -> dict:
    return {"ID": str(u.id), "ACTIVE": u.active, "NAME": u.name, "LAST_NAME": u.last_name,
            "SECOND_NAME": u.second_name, "EMAIL": u.email, "LAST_LOGIN": p.iso(p.now_ts() - 3600),
            "DATE_REGISTER": p.iso(u.registered), "TIME_ZONE": "", "IS_ONLINE": "N",
            "TIMESTAMP_X": dates.site_format(u.registered, p.tz),
            "LAST_ACTIVITY_DATE": dates.plain_format(p.now_ts() - 3600, p.tz), "PERSONAL_GENDER": u.gender,
            "PERSONAL_WWW": "", "PERSONAL_BIRTHDAY": "", "PERSONAL_MOBILE": "", "PERSONAL_CITY": "",
            "WORK_PHONE": "", "WORK_POSITION": u.work_position, "UF_EMPLOYMENT_DATE": "",
            "UF_DEPARTMENT": list(u.departments), "USER_TYPE": "extranet" if u.extranet else "employee"}


def group_row(p: "FakePortal", g: Group) -> dict:
    yn = lambda flag: "Y" if flag else "N"  # noqa: E731
    extranet = any(p.users[u].extranet for u in g.member_ids() if u in p.users)
    return {"ID": str(g.id), "SITE_ID": "s1", "NAME": g.name, "DESCRIPTION": g.description,
            "DATE_CREATE": p.iso(g.created), "DATE_UPDATE": p.iso(g.created), "ACTIVE": yn(g.active),
            "VISIBLE": yn(g.visible), "OPENED": yn(g.opened), "CLOSED": yn(g.closed), "SUBJECT_ID": "1",
            "OWNER_ID": str(g.owner_id), "KEYWORDS": None, "NUMBER_OF_MEMBERS": str(len(g.member_ids())),
            "DATE_ACTIVITY": p.iso(g.created), "SUBJECT_NAME": "Workgroups", "PROJECT": yn(g.project),
            "IS_EXTRANET": yn(extranet)}


def checklist_row(p: "FakePortal", item: ChecklistItem) -> dict:
    members = []
    for uid, kind in item.members.items():
        user = p.users.get(uid)
        members.append({"ID": str(uid), "TYPE": kind, "NAME": user.full_name if user else "", "PERSONAL_PHOTO": "",
                        "PERSONAL_GENDER": user.gender if user else "", "IMAGE": "", "IS_COLLABER": False})
    return {"ID": str(item.id), "TASK_ID": str(item.task_id),
            "PARENT_ID": str(item.parent_id) if item.parent_id else 0,  # the sample's root item has the int 0
            "CREATED_BY": str(item.created_by), "TITLE": item.title, "SORT_INDEX": str(item.sort_index),
            "IS_COMPLETE": "Y" if item.complete else "N", "IS_IMPORTANT": "Y" if item.important else "N",
            "TOGGLED_BY": _s(item.toggled_by), "TOGGLED_DATE": p.iso(item.toggled_date) or "",
            "MEMBERS": members, "ATTACHMENTS": php_map(dict(item.attachments))}
