"""`b24mirror check`: what stands between the configuration and a working sync, each finding with its fix.

Two rounds of requests at most: one batch with every probe (who the webhook is, its scopes, each
group, its members, each master task), then one task list per group whose master was found, to see
which subtask chats the webhook's user can read. Nothing here raises: portal and network failures
become findings.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from b24mirror.bitrix import (AuthError, BitrixError, DeadlineExceeded, PermissionDenied, ScopeError,
                              TransportError, mask_text)
from b24mirror.models import Task
from b24mirror.plan import subtree_verdict
from b24mirror.portal import Portal, parse_members, parse_task_get, q_task_chat_id
from b24mirror.settings import Config, GroupConfig

OK, WARNING, BLOCKER = "ok", "warning", "blocker"
LEVELS = (OK, WARNING, BLOCKER)

# The scopes a sync needs, in the order they are reported.
SCOPES = ("task", "sonet_group", "user", "im")
SCOPE_OF_METHOD = {"tasks.task.get": "task", "sonet_group.get": "sonet_group", "sonet_group.user.get": "sonet_group",
                   "user.current": "user", "im.chat.get": "im"}
WEBHOOK_EDIT = "Developer resources → Other → Inbound webhook → edit"
LISTED_TASKS = 10


@dataclass(frozen=True)
class Finding:
    level: str  # "ok" | "warning" | "blocker"
    subject: str  # "webhook", "scope task", "group 42", "master task 1001", "group 42 subtask chats", ...
    message: str  # what was found
    fix: str = ""  # how to fix it (empty for ok)


def blocks_sync(findings: Iterable[Finding]) -> bool:
    return any(f.level == BLOCKER for f in findings)


def render_findings(findings: Iterable[Finding]) -> str:
    """One line per finding, its fix indented below it, and a last line counting blockers and warnings."""
    findings = list(findings)
    tags = {OK: "ok", WARNING: "WARNING", BLOCKER: "BLOCKER"}
    width = max(len(t) for t in tags.values()) + 2
    lines = []
    for f in findings:
        tag = f"[{tags.get(f.level, f.level)}]".ljust(width + 1)
        lines.append(mask_text(f"{tag}{f.subject}: {f.message}"))
        if f.fix:
            lines.append(mask_text(f"{' ' * (width + 1)}fix: {f.fix}"))
    blockers = sum(f.level == BLOCKER for f in findings)
    warnings = sum(f.level == WARNING for f in findings)
    lines.append(f"{blockers} blocker{'' if blockers == 1 else 's'}, {warnings} warning{'' if warnings == 1 else 's'}")
    return "\n".join(lines)


def run_checks(config: Config, client) -> list[Finding]:
    """Every check, in a stable order: webhook, scopes, then each group (group, members, master, chats)."""
    try:
        return _Doctor(config, client).run()
    except Exception as exc:  # a doctor must report, not crash; the finding names what broke
        return [Finding(BLOCKER, "check", mask_text(f"the check itself failed: {type(exc).__name__}: {exc}"),
                        "run `b24mirror --verbose check` and report this as a bug")]


# --- the checks ---------------------------------------------------------------------------------------------------

def _describe(error: BaseException) -> str:
    return mask_text(str(error) or type(error).__name__)


def _first_row(result: Any) -> dict | None:
    rows = list(result.values()) if isinstance(result, dict) else list(result or [])
    return rows[0] if rows and isinstance(rows[0], dict) else None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in ("Y", "TRUE", "1")
    return bool(value)


def _task_list(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:LISTED_TASKS])
    more = len(ids) - LISTED_TASKS
    return f"{shown} (+{more} more)" if more > 0 else shown


class _Doctor:
    def __init__(self, config: Config, client) -> None:
        self.config = config
        self.client = client
        self.portal = Portal(client)
        self.user_id = int(getattr(client, "user_id", None) or 0)
        self.findings: list[Finding] = []

    def add(self, level: str, subject: str, message: str, fix: str = "") -> None:
        self.findings.append(Finding(level, subject, message, fix))

    def run(self) -> list[Finding]:
        answers = self._probe()
        if answers is None:
            return self.findings
        if not self._who(answers):
            return self.findings
        missing = self._scope_errors(answers)
        masters: dict[int, Task | None] = {}
        group_findings: list[Finding] = []
        chats_needed = any(g.comments_source == "chat" for g in self.config.groups)
        outer = self.findings
        for index, group in enumerate(self.config.groups):
            self.findings = group_findings
            master = self._group(index, group, answers, missing)
            masters[index] = master
            if master is not None and master.chat_id:
                chats_needed = True
            if master is not None and self._subtask_chats(group, master):
                chats_needed = True
        self.findings = outer
        self._scopes(missing, answers, chats_needed)
        self.findings.extend(group_findings)
        return self.findings

    # --- one batch for every probe -----------------------------------------------------------------------------

    def _probe(self) -> dict | None:
        commands: dict[str, tuple[str, dict]] = {"profile": ("profile", {}), "user": ("user.current", {})}
        for i, group in enumerate(self.config.groups):
            commands[f"group{i}"] = ("sonet_group.get", {"FILTER": {"ID": group.id}, "IS_ADMIN": "Y"})
            commands[f"members{i}"] = ("sonet_group.user.get", {"ID": group.id})
            commands[f"master{i}"] = ("tasks.task.get", {"taskId": group.master_task,
                                                         "select": ["ID", "TITLE", "GROUP_ID", "PARENT_ID", "STATUS",
                                                                    "CREATED_BY", "RESPONSIBLE_ID", "CHAT_ID",
                                                                    "AUDITORS", "ACCOMPLICES"]})
            commands[f"chat{i}"] = ("im.chat.get", {"ENTITY_TYPE": "TASKS_TASK", "ENTITY_ID": group.master_task})
        where = self.config.masked_webhook
        try:
            return self.client.batch(commands)
        except AuthError as exc:
            self.add(BLOCKER, "webhook", f"the portal refused the webhook {where}: {_describe(exc)}",
                     "check portal.webhook: copy the URL again from the portal (" + WEBHOOK_EDIT + "); the secret "
                     "changes when an admin edits the webhook, and an expired or deleted webhook must be recreated")
        except (TransportError, DeadlineExceeded) as exc:
            self.add(BLOCKER, "webhook", f"the portal did not answer at {where}: {_describe(exc)}",
                     "check the portal address in portal.webhook, DNS and the network or proxy between this host "
                     "and the portal; then run check again")
        except ScopeError as exc:
            self.add(BLOCKER, "webhook", f"the portal refused the webhook {where}: {_describe(exc)}",
                     f"add the missing scope to the webhook ({WEBHOOK_EDIT})")
        except PermissionDenied as exc:
            self.add(BLOCKER, "webhook", f"the portal refused the webhook {where}: {_describe(exc)}",
                     "REST needs a commercial plan (or a trial) and an active user behind the webhook; check both")
        except BitrixError as exc:
            self.add(BLOCKER, "webhook", f"the webhook {where} could not be used: {_describe(exc)}",
                     "check portal.webhook and run check again; if it persists, the portal may be down")
        return None

    # --- 1. reachable, and whose ---------------------------------------------------------------------------------

    def _who(self, answers: dict) -> bool:
        profile, current = answers["profile"], answers["user"]
        row: dict = {}
        admin: bool | None = None
        if profile.ok and isinstance(profile.result, dict) and profile.result:
            row = profile.result
            admin = _truthy(row.get("ADMIN"))
        elif profile.ok:  # an empty profile: the user behind the webhook is deactivated
            self.add(BLOCKER, "webhook", f"the user behind the webhook {self.config.masked_webhook} is deactivated "
                     "(the portal returns an empty profile)",
                     "reactivate the user, or create the webhook as an active user with access to the groups")
            return False
        elif isinstance(profile.error, (AuthError, PermissionDenied)) and not isinstance(profile.error, ScopeError):
            self.add(BLOCKER, "webhook", f"the portal refused the webhook {self.config.masked_webhook}: "
                     f"{_describe(profile.error)}",
                     "check portal.webhook and that the user behind it is active; the secret changes when an "
                     "admin edits the webhook")
            return False
        if not row and current.ok and isinstance(current.result, dict):
            row = current.result
        if row.get("ID"):
            self.user_id = int(row["ID"])
        name = " ".join(str(p) for p in (row.get("NAME"), row.get("LAST_NAME")) if p) or "name unknown"
        admin_text = "unknown" if admin is None else ("yes" if admin else "no")
        self.add(OK, "webhook", f"{self.config.masked_webhook} is the webhook of user {self.user_id} ({name}), "
                 f"admin {admin_text}")
        return True

    # --- 2. scopes -------------------------------------------------------------------------------------------------

    def _scope_errors(self, answers: dict) -> dict[str, ScopeError]:
        """The scopes some probe was refused for (keyed by the scope of the probe's method)."""
        missing: dict[str, ScopeError] = {}
        for key, item in answers.items():
            method = _METHOD_OF_KEY.get(key.rstrip("0123456789"))
            if isinstance(item.error, ScopeError) and method in SCOPE_OF_METHOD:
                missing.setdefault(SCOPE_OF_METHOD[method], item.error)
        return missing

    def _scopes(self, missing: dict[str, ScopeError], answers: dict, chats_needed: bool) -> None:
        for scope in SCOPES:
            subject = f"scope {scope}"
            fix = f"add scope {scope} to the webhook ({WEBHOOK_EDIT}); the URL stays the same"
            if scope not in missing:
                probes = [item for key, item in answers.items()
                          if SCOPE_OF_METHOD.get(_METHOD_OF_KEY.get(key.rstrip("0123456789"), "")) == scope]
                if probes and not any(item.ok for item in probes):
                    first = next(item.error for item in probes)
                    self.add(WARNING, subject, f"could not be verified: {_describe(first)}",
                             "run check again; the other findings say what failed")
                else:
                    self.add(OK, subject, "granted")
                continue
            if scope != "im":
                self.add(BLOCKER, subject, f"missing: the webhook may not call {_USES[scope]}", fix)
            elif chats_needed:
                self.add(BLOCKER, subject, "missing: task chats (the new task card) are in use here, and they are "
                         "read and written only with im methods", fix)
            else:
                self.add(WARNING, subject, "missing: not needed yet (no configured task has a chat), but needed as "
                         "soon as the portal moves tasks to the new card with its chat", fix)

    # --- 3 and 4. each group and its master ------------------------------------------------------------------------

    def _group(self, i: int, group: GroupConfig, answers: dict, missing: dict) -> Task | None:
        gid, uid = group.id, self.user_id
        where = f"groups[{i}]"
        found = answers[f"group{i}"]
        group_ok = False
        if found.ok:
            if _first_row(found.result) is None:
                self.add(BLOCKER, f"group {gid}", f"group {gid} does not exist or user {uid} cannot see it",
                         f"check {where}.id in the configuration, or add user {uid} to group {gid}")
            else:
                name = _first_row(found.result).get("NAME") or ""
                self.add(OK, f"group {gid}", f"group {gid}{f' ({name})' if name else ''} is visible to user {uid}")
                group_ok = True
        elif not isinstance(found.error, ScopeError):
            self.add(BLOCKER, f"group {gid}", f"group {gid} could not be read: {_describe(found.error)}",
                     f"check {where}.id in the configuration and that user {uid} may see group {gid}")

        members = answers[f"members{i}"]
        if group_ok and members.ok:
            if uid in parse_members(members.result):
                self.add(OK, f"group {gid} members", f"user {uid} is a member of group {gid}")
            else:
                self.add(WARNING, f"group {gid} members",
                         f"user {uid} is not a member of group {gid}: it can still read and post where it has "
                         "access (as an admin, or as a participant of a task), but it sees only those tasks",
                         f"add user {uid} to group {gid}")
        elif group_ok and not isinstance(members.error, ScopeError):
            self.add(WARNING, f"group {gid} members", f"the members of group {gid} could not be read: "
                     f"{_describe(members.error)}", "run check again")

        return self._master(i, group, answers)

    def _master(self, i: int, group: GroupConfig, answers: dict) -> Task | None:
        gid, mid, uid = group.id, group.master_task, self.user_id
        subject = f"master task {mid}"
        item = answers[f"master{i}"]
        if not item.ok:
            if not isinstance(item.error, ScopeError):
                self.add(BLOCKER, subject, f"task {mid} could not be read: {_describe(item.error)}",
                         f"check groups[{i}].master_task and run check again")
            return None
        master = parse_task_get(item.result)
        if master is None:
            self.add(BLOCKER, subject, f"task {mid} does not exist or user {uid} cannot see it",
                     f"check groups[{i}].master_task, or give user {uid} access: add it to group {gid} or as an "
                     f"observer of task {mid}")
            return None
        if master.group_id != gid:
            where = f"group {master.group_id}" if master.group_id else "no group"
            self.add(BLOCKER, subject, f"task {mid} is in {where}, not in group {gid}",
                     f"move task {mid} into group {gid}, or set groups[{i}].master_task to a task of group {gid}")
            return None
        self.add(OK, subject, f"task {mid} ({master.title}) is in group {gid}")
        self._posting(group, master)
        return master

    def _posting(self, group: GroupConfig, master: Task) -> None:
        mid, uid = master.id, self.user_id
        subject = f"master task {mid} posting"
        if not master.chat_id:
            self.add(OK, subject, f"classic comments: user {uid} sees task {mid}, so it can comment on it")
        elif uid in master.participants:
            self.add(OK, subject, f"task chat {master.chat_id}: user {uid} takes part in task {mid}, so it can "
                     "post to its chat")
        else:
            self.add(BLOCKER, subject, f"task {mid} has a chat (the new task card) and user {uid} is not among its "
                     "participants (creator, responsible, accomplices, observers), so it cannot post there",
                     f"add user {uid} as an observer of task {mid}")

    # --- 5. the subtasks' chats --------------------------------------------------------------------------------------

    def _subtask_chats(self, group: GroupConfig, master: Task) -> bool:
        """Warn about the new-card subtasks whose chat the user cannot read; True when any subtask has a chat."""
        gid, uid = group.id, self.user_id
        subject = f"group {gid} subtask chats"
        try:
            tasks = self.portal.all_group_tasks(gid)
        except BitrixError as exc:
            self.add(WARNING, subject, f"the tasks of group {gid} could not be listed: {_describe(exc)}",
                     "run check again")
            return False
        by_id = {t.id: t for t in tasks}
        by_id.setdefault(master.id, master)
        inside = [t for t in tasks if subtree_verdict(t, master, by_id, group.depth) is None]
        inside = self._with_chats(group, master, tasks, inside)
        with_chat = [t for t in inside if t.chat_id]
        if group.comments_source == "classic":
            if with_chat:
                self.add(OK, subject, f"{len(with_chat)} subtask(s) have a chat, but comments: classic reads only "
                         "classic comments")
            return False
        unreadable = sorted(t.id for t in with_chat if uid not in t.participants)
        if not with_chat:
            self.add(OK, subject, f"none of the {len(inside)} subtask(s) within depth {group.depth} has a chat")
        elif not unreadable:
            self.add(OK, subject, f"user {uid} takes part in all {len(with_chat)} subtask chat(s)")
        elif group.auto_observe:
            self.add(OK, subject, f"user {uid} is not in the chats of task(s) {_task_list(unreadable)}; with "
                     f"auto_observe: true the sync adds it as an observer (this needs the right to edit those tasks)")
        else:
            self.add(WARNING, subject, f"user {uid} cannot read the chats of {len(unreadable)} subtask(s): "
                     f"{_task_list(unreadable)}; their comments will not be mirrored",
                     f"add user {uid} as an observer of these tasks, or set auto_observe: true for group {gid}")
        return bool(with_chat)


    def _with_chats(self, group: GroupConfig, master: Task, listed: list[Task], inside: list[Task]) -> list[Task]:
        """Say which readings this portal takes, and give the subtasks the chat ids a list may leave out."""
        subject = f"group {group.id} portal readings"
        row = next((t for t in listed if t.id == master.id), None)
        dates = master.created_date or (row.created_date if row else "")
        self.add(OK, subject, "dates come in " + ("ISO 8601" if "T" in dates or "-" in dates[:5] else
                 "the site format (DD.MM.YYYY, the portal's zone): read as such") + (f" ({dates})" if dates else ""))
        if any(t.chat_id for t in listed):
            self.add(OK, subject, "task lists carry chatId: yes; no look-ups needed")
            return inside
        if group.comments_source == "classic" or not inside:
            return inside
        asked = [t.id for t in inside]
        answers = self.portal.run({tid: q_task_chat_id(tid) for tid in asked})
        chats = {tid: chat for tid, chat in answers.items() if isinstance(chat, int)}
        requests = -(-len(asked) // 50)
        if chats or (row is not None and master.chat_id and not row.chat_id):
            self.add(OK, subject, f"task lists carry chatId: no; chats are looked up, 1 request per 50 new tasks "
                     f"(here {len(asked)} subtask(s), {requests} request(s), once per task)")
        else:
            self.add(OK, subject, f"task lists carry no chatId and none of the {len(asked)} subtask(s) has a chat: "
                     "classic comments")
        return [replace(t, chat_id=chats.get(t.id) or t.chat_id) for t in inside]


_METHOD_OF_KEY = {"profile": "profile", "user": "user.current", "group": "sonet_group.get",
                  "members": "sonet_group.user.get", "master": "tasks.task.get", "chat": "im.chat.get"}
_USES = {"task": "tasks.task.* (read the subtasks, their history and comments)",
         "sonet_group": "sonet_group.* (find the group and its members)",
         "user": "user.* (names of comment authors, extranet status)"}
