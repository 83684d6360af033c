"""Each `targets:` entry's task: it exists, the webhook's user can post there, and it lies outside the source
subtree (a target inside it would have its own mirrors read as the project's news)."""
from __future__ import annotations

from b24mirror.bitrix import BitrixError
from b24mirror.ops.doctor.findings import BLOCKER, OK, WARNING, _describe
from b24mirror.policy.models import Task
from b24mirror.portal import q_task
from b24mirror.config.settings import GroupConfig

MAX_CLIMB = 20  # parents walked up from a target; a subtree is never that deep


class TargetChecks:
    def _target(self, group: GroupConfig, item, master: Task | None) -> Task | None:
        """The target as found (None when it cannot be posted to for want of the task itself)."""
        tid = group.target_task
        subject = f'target task {tid}{f" ({group.target_name})" if group.target_name else ""}'
        target = self._probed_task(item, tid, subject, f"{group.where}.task", f"add it as an observer of task {tid}")
        if target is None:
            return None
        self.add(OK, subject, f"task {tid} ({target.title}) receives the mirrors of {group.label}")
        self._posting(target, f"{subject} posting")
        if master is not None:
            self._outside_subtree(group, target, master, subject)
        return target

    def _outside_subtree(self, group: GroupConfig, target: Task, master: Task, subject: str) -> None:
        current, seen = target, set()
        while current.parent_id and current.id not in seen and len(seen) < MAX_CLIMB:
            seen.add(current.id)
            if current.parent_id == master.id:
                self.add(BLOCKER, subject, f"task {target.id} lies inside the source subtree of master task "
                         f"{master.id}: its mirrors would be read back as the project's own news",
                         f"set {group.where}.task to a task outside the subtree of task {master.id} (another "
                         f"group's task, or a top-level task)")
                return
            try:
                parent = self.portal.one(q_task(current.parent_id))
            except BitrixError as exc:
                self.add(WARNING, subject, f"whether task {target.id} lies inside the source subtree could not be "
                         f"told: task {current.parent_id} could not be read ({_describe(exc)})", "run check again")
                return
            if parent is None:
                return  # an ancestor the user cannot see is not the master, which it can
            current = parent
