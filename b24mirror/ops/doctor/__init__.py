"""`b24mirror check`: what stands between the configuration and a working sync, each finding with its fix.

A few requests: one batch with every probe (who the webhook is, its scopes, each group, its
members, each master task), then one task list per group whose master was found, and where lists
carry no chatId one batch of chat look-ups per 50 subtasks, to see which subtask chats the
webhook's user can read. Nothing here raises: portal and network failures
become findings.
"""
from __future__ import annotations

from b24mirror.bitrix import AuthError, BitrixError, DeadlineExceeded, PermissionDenied, ScopeError, TransportError
from b24mirror.bitrix import mask_text
from b24mirror.ops.doctor.chats import ChatChecks
from b24mirror.ops.doctor.findings import (BLOCKER, LEVELS, OK, SCOPE_OF_METHOD, SCOPES, WARNING, WEBHOOK_EDIT, Finding,
                                       _describe, _truthy, blocks_sync, render_findings)
from b24mirror.ops.doctor.groups import GroupChecks
from b24mirror.ops.doctor.targets import TargetChecks
from b24mirror.policy.models import Task
from b24mirror.portal import Portal
from b24mirror.config.settings import Config

__all__ = ["BLOCKER", "LEVELS", "OK", "WARNING", "Finding", "blocks_sync", "render_findings", "run_checks"]


def run_checks(config: Config, client) -> list[Finding]:
    """Every check, in a stable order: webhook, scopes, then each group (group, members, master, chats)."""
    try:
        return _Doctor(config, client).run()
    except Exception as exc:  # a doctor must report, not crash; the finding names what broke
        return [Finding(BLOCKER, "check", mask_text(f"the check itself failed: {type(exc).__name__}: {exc}"),
                        "run `b24mirror --verbose check` and report this as a bug")]



class _Doctor(GroupChecks, ChatChecks, TargetChecks):
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
        masters: dict[int, Task | None] = {}  # group id -> its master as found
        group_findings: list[Finding] = []
        chats_needed = any(g.comments_source == "chat" for g in self.config.groups)
        outer = self.findings
        for index, group in enumerate(self.config.groups):
            self.findings = group_findings
            if group.id in masters:  # another target of a group already checked: its group and master are known
                master = masters[group.id]
            else:
                master = masters[group.id] = self._group(index, group, answers, missing)
                if master is not None and master.chat_id:
                    chats_needed = True
                if master is not None and self._subtask_chats(group, master):
                    chats_needed = True
            target = self._target(group, answers[f"target{index}"], master) if f"target{index}" in answers else None
            if target is not None and target.chat_id:
                chats_needed = True  # posted to with im methods
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
            commands[f"master{i}"] = ("tasks.task.get", {"taskId": group.master_task, "select": _TASK_FIELDS})
            commands[f"chat{i}"] = ("im.chat.get", {"ENTITY_TYPE": "TASKS_TASK", "ENTITY_ID": group.master_task})
            if group.target_task != group.master_task:
                commands[f"target{i}"] = ("tasks.task.get", {"taskId": group.target_task, "select": _TASK_FIELDS})
        where = self.config.masked_webhook
        try:
            return self.client.batch(commands)
        except AuthError as exc:
            self.add(BLOCKER, "webhook", f"the portal refused the webhook {where}: {_describe(exc)}",
                     f"check {self.config.webhook_key}: copy the URL again from the portal (" + WEBHOOK_EDIT + "); the secret "
                     "changes when an admin edits the webhook, and an expired or deleted webhook must be recreated")
        except (TransportError, DeadlineExceeded) as exc:
            self.add(BLOCKER, "webhook", f"the portal did not answer at {where}: {_describe(exc)}",
                     f"check the portal address in {self.config.webhook_key}, DNS and the network or proxy between this host "
                     "and the portal; then run check again")
        except ScopeError as exc:
            self.add(BLOCKER, "webhook", f"the portal refused the webhook {where}: {_describe(exc)}",
                     f"add the missing scope to the webhook ({WEBHOOK_EDIT})")
        except PermissionDenied as exc:
            self.add(BLOCKER, "webhook", f"the portal refused the webhook {where}: {_describe(exc)}",
                     "REST needs a commercial plan (or a trial) and an active user behind the webhook; check both")
        except BitrixError as exc:
            self.add(BLOCKER, "webhook", f"the webhook {where} could not be used: {_describe(exc)}",
                     f"check {self.config.webhook_key} and run check again; if it persists, the portal may be down")
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
                     f"check {self.config.webhook_key} and that the user behind it is active; the secret changes when an "
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

_METHOD_OF_KEY = {"profile": "profile", "user": "user.current", "group": "sonet_group.get",
                  "members": "sonet_group.user.get", "master": "tasks.task.get", "chat": "im.chat.get",
                  "target": "tasks.task.get"}
_TASK_FIELDS = ["ID", "TITLE", "GROUP_ID", "PARENT_ID", "STATUS", "CREATED_BY", "RESPONSIBLE_ID", "CHAT_ID", "AUDITORS",
                "ACCOMPLICES"]
_USES = {"task": "tasks.task.* (read the subtasks, their history and comments)",
         "sonet_group": "sonet_group.* (find the group and its members)",
         "user": "user.* (names of comment authors, extranet status)"}
