"""Build a portal from a YAML or JSON file. People, groups and tasks are named by `key` and referred to
by it (an int works too: the nth item, from 0). Format:

    portal: {tz: "+03:00", domain: demo.bitrix24.test, limits: null}
    users:    [{key: anna, name: Anna, last_name: Petrova, admin: true, extranet: false, active: true}]
    webhooks: [{user: anna, scopes: [task, sonet_group, user, im], secret: s3cret}]
    groups:   [{key: proj, name: Project, owner: anna, members: [anna, bob]}]
    tasks:    [{key: master, title: Master, created_by: anna, responsible: bob, group: proj, parent: null,
                new_card: false, auditors: [], accomplices: [], status: 2, deadline: "2026-06-19T18:00:00+03:00",
                checklist: [Item one, Item two],
                comments: [{author: bob, text: Hello, system: false}]}]
    info:     {master: master}   # optional: which task is the master (default: the first task)

Returns (portal, info) with the same info keys as the demo portal."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from b24mirror.fakeportal.portal import FakePortal


def _read(path: str) -> dict:
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        import yaml  # only for YAML seed files; the emulator itself needs nothing beyond the standard library
        return yaml.safe_load(text) or {}
    return json.loads(text)


def load_seed(path: str, **portal_kwargs: Any) -> tuple[FakePortal, dict]:
    data = _read(path)
    options = dict(data.get("portal") or {})
    options.update(portal_kwargs)
    p = FakePortal(**options)
    refs: dict[str, dict] = {"user": {}, "group": {}, "task": {}}

    def ref(kind: str, value: Any) -> int | None:
        if value is None:
            return None
        table = refs[kind]
        if str(value) in table:
            return table[str(value)]
        if isinstance(value, int) and 0 <= value < len(table):
            return list(table.values())[value]
        raise KeyError(f"seed file: unknown {kind} {value!r}")

    for i, u in enumerate(data.get("users") or []):
        uid = p.add_user(u["name"], u.get("last_name", ""), extranet=bool(u.get("extranet")),
                         active=u.get("active", True), admin=bool(u.get("admin")), email=u.get("email"),
                         work_position=u.get("work_position", ""))
        refs["user"][str(u.get("key", i))] = uid
    hooks = []
    for h in data.get("webhooks") or []:
        uid = ref("user", h["user"])
        hooks.append((uid, p.add_webhook(uid, scopes=h.get("scopes", ("task", "sonet_group", "user", "im")),
                                         secret=h.get("secret"))))
    for i, g in enumerate(data.get("groups") or []):
        gid = p.add_group(g["name"], ref("user", g["owner"]), [ref("user", m) for m in g.get("members", [])])
        for m in g.get("moderators", []):
            p.add_member(gid, ref("user", m), "E")
        refs["group"][str(g.get("key", i))] = gid
    for i, t in enumerate(data.get("tasks") or []):
        tid = p.add_task(t["title"], created_by=ref("user", t["created_by"]),
                         responsible_id=ref("user", t.get("responsible", t["created_by"])),
                         group_id=ref("group", t.get("group")) or 0, parent_id=ref("task", t.get("parent")),
                         new_card=bool(t.get("new_card")), auditors=[ref("user", a) for a in t.get("auditors", [])],
                         accomplices=[ref("user", a) for a in t.get("accomplices", [])],
                         deadline=t.get("deadline"), status=int(t.get("status", 2)),
                         description=t.get("description", ""))
        refs["task"][str(t.get("key", i))] = tid
        for title in t.get("checklist") or []:
            p.add_checklist_item(tid, str(title))
        for c in t.get("comments") or []:
            if c.get("system"):
                p.add_system_comment(tid, c["text"], by=ref("user", c.get("author")))
            else:
                p.add_comment(tid, ref("user", c["author"]), c["text"])
    extra = data.get("info") or {}
    groups = list(refs["group"].values())
    info = {"user_id": hooks[0][0] if hooks else None, "secret": hooks[0][1] if hooks else None,
            "group_id": ref("group", extra["group"]) if "group" in extra else (groups[0] if groups else None),
            "master_task_id": ref("task", extra["master"]) if "master" in extra else
            (next(iter(refs["task"].values()), None)),
            "second_group_id": groups[1] if len(groups) > 1 else None}
    if hooks:
        info["webhook_path"] = f"/rest/{hooks[0][0]}/{hooks[0][1]}/"
    # The first webhook is the robot's; any further one is a person's, whose posts are mirrored.
    info["people_webhooks"] = [{"user_id": uid, "secret": secret} for uid, secret in hooks[1:]]
    return p, info
