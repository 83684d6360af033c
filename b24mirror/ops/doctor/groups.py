"""Each configured group, its members, its master task and whether b24mirror can post there."""
from __future__ import annotations

from b24mirror.bitrix import ScopeError
from b24mirror.ops.doctor.findings import BLOCKER, OK, WARNING, _describe, _first_row
from b24mirror.policy.models import Task
from b24mirror.portal import parse_members, parse_task_get
from b24mirror.config.settings import GroupConfig


def entry_path(group: GroupConfig, index: int) -> str:
    """The group entry's key path (`groups[0]`), also for a lane of its `targets:`."""
    return group.where.split(".targets[")[0] if group.where else f"groups[{index}]"


class GroupChecks:
    def _group(self, i: int, group: GroupConfig, answers: dict, missing: dict) -> Task | None:
        gid, uid = group.id, self.user_id
        where = entry_path(group, i)
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
        gid, mid = group.id, group.master_task
        subject, where = f"master task {mid}", entry_path(group, i)
        master = self._probed_task(answers[f"master{i}"], mid, subject, f"{where}.master_task",
                                   f"add it to group {gid} or as an observer of task {mid}")
        if master is None:
            return None
        if master.group_id != gid:
            home = f"group {master.group_id}" if master.group_id else "no group"
            self.add(BLOCKER, subject, f"task {mid} is in {home}, not in group {gid}",
                     f"move task {mid} into group {gid}, or set {where}.master_task to a task of group {gid}")
            return None
        self.add(OK, subject, f"task {mid} ({master.title}) is in group {gid}")
        if master.parent_id:
            self.add(WARNING, subject, f"task {mid} is itself a subtask of task {master.parent_id}: its own parent's "
                     "readers see the mirrors too, and the project's other subtasks may hang elsewhere",
                     f"check that {where}.master_task is the project's top task (task {master.parent_id}?), "
                     f"or detach task {mid} from its parent")
        self._posting(master, f"master task {mid} posting")
        return master

    def _probed_task(self, item, task_id: int, subject: str, key: str, access: str) -> Task | None:
        """A task the probe asked for, as found; a blocker naming the config `key` when it cannot be read or seen."""
        if not item.ok:
            if not isinstance(item.error, ScopeError):
                self.add(BLOCKER, subject, f"task {task_id} could not be read: {_describe(item.error)}",
                         f"check {key} and run check again")
            return None
        task = parse_task_get(item.result)
        if task is None:
            self.add(BLOCKER, subject, f"task {task_id} does not exist or user {self.user_id} cannot see it",
                     f"check {key}, or give user {self.user_id} access: {access}")
        return task

    def _posting(self, master: Task, subject: str) -> None:
        mid, uid = master.id, self.user_id
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

