"""Checklists of a task (task.checklistitem.*): items, toggles and their history rows."""
from __future__ import annotations

from typing import Any

from b24mirror.fakeportal.model import ChecklistItem


class ChecklistMixin:
    def add_checklist_item(self, tid: int, title: str, parent_id: int | None = None, by: int | None = None,
                           complete: bool = False, important: bool = False, sort_index: int | None = None,
                           members: dict | None = None, attachments: Any = None) -> int:
        """parent_id None: append to the task's first checklist (creating one); 0 or unknown: a new checklist."""
        with self.lock:
            task = self.tasks[tid]
            by = by or task.created_by
            roots = [i for i in self.checklist.values() if i.task_id == tid and i.parent_id == 0]
            if parent_id is None:
                if roots:
                    parent_id = roots[0].id
                else:
                    parent_id = self.add_checklist_item(tid, "Checklist 1", 0, by)
            elif parent_id and (parent_id not in self.checklist or self.checklist[parent_id].task_id != tid):
                parent_id = 0
            siblings = [i for i in self.checklist.values() if i.task_id == tid and i.parent_id == parent_id]
            item = ChecklistItem(self._next("checklist"), tid, int(parent_id), by, title,
                                 sort_index if sort_index is not None else len(siblings), complete, important,
                                 members={int(k): (v.get("TYPE", "U") if isinstance(v, dict) else str(v))
                                          for k, v in (members or {}).items()},
                                 attachments=self._attachments(attachments, int_id=True))
            if complete:
                item.toggled_by, item.toggled_date = by, self.now_ts()
            self.checklist[item.id] = item
            if parent_id:
                self._history(task, "CHECKLIST_ITEM_CREATE", "", title, by)
            return item.id

    def toggle_checklist_item(self, item_id: int, complete: bool, by: int) -> bool:
        with self.lock:
            item = self.checklist.get(int(item_id))
            if item is None:
                return False
            if item.complete != complete:
                item.complete = complete
                item.toggled_by, item.toggled_date = by, self.now_ts()
                self._history(self.tasks[item.task_id], "CHECKLIST_ITEM_CHECK" if complete else "CHECKLIST_ITEM_UNCHECK",
                              "", item.title, by)
            return True
