"""People at work on a served fake portal: every N seconds one of the group's members comments on a
subtask, changes its status or moves its deadline, so a cron'd b24mirror has something to mirror.

Steps are drawn from a seeded random generator: the same seed plays the same story."""
from __future__ import annotations

import random
import threading
from typing import Callable

LINES = ("Готово, проверьте, пожалуйста.", "Waiting for the customer's answer.", "Переносим на завтра.",
         "Uploaded the new version.", "Есть вопрос по смете.", "Tested on staging: fine.")
STATUSES = (2, 3, 4, 5)  # pending, in progress, awaiting control, completed


class Activity:
    def __init__(self, portal, group_id: int, master_id: int, robot_id: int, seed: int = 0) -> None:
        self.portal, self.group_id, self.master_id, self.robot_id = portal, group_id, master_id, robot_id
        self.rng = random.Random(seed)

    def _under_master(self, task) -> bool:
        seen = set()
        while task is not None and task.parent_id and task.id not in seen:
            seen.add(task.id)
            if task.parent_id == self.master_id:
                return True
            task = self.portal.tasks.get(task.parent_id)
        return False

    def step(self) -> str:
        """One person does one thing; says what, as a line for the portal's log."""
        portal = self.portal
        with portal.lock:
            members = sorted(uid for uid in portal.groups[self.group_id].members
                             if uid != self.robot_id and portal.users[uid].active)
            tasks = sorted(t.id for t in portal.tasks.values()
                           if t.group_id == self.group_id and self._under_master(t))
        who, task = self.rng.choice(members), self.rng.choice(tasks)
        what = self.rng.choice(("comment", "comment", "status", "deadline"))
        if what == "comment":
            portal.add_comment(task, who, self.rng.choice(LINES))
            return f"user {who} commented on task {task}"
        if what == "status":
            status = self.rng.choice(STATUSES)
            portal.set_status(task, status, by=who)
            return f"user {who} set task {task}'s status to {status}"
        days = self.rng.randint(1, 14)
        portal.set_deadline(task, portal.now_ts() + days * 86400, by=who)
        return f"user {who} moved task {task}'s deadline to {days} days from now"

    def run_every(self, seconds: float, stop: threading.Event, log: Callable[[str], None]) -> None:
        while not stop.wait(seconds):
            log(self.step())
