"""The subtasks' chats: which the webhook's user can read, and the readings the portal takes."""
from __future__ import annotations

from dataclasses import replace

from b24mirror.policy.words import plural
from b24mirror.bitrix import BitrixError
from b24mirror.ops.doctor.findings import OK, WARNING, _describe, _task_list
from b24mirror.policy.models import Task
from b24mirror.policy.plan import subtree_verdict
from b24mirror.config.settings import GroupConfig


class ChatChecks:
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
                self.add(OK, subject, f"{plural(len(with_chat), 'subtask')} have a chat, but comments: classic reads only "
                         "classic comments")
            return False
        unreadable = sorted(t.id for t in with_chat if uid not in t.participants)
        if not with_chat:
            self.add(OK, subject, f"none of the {plural(len(inside), 'subtask')} within depth {group.depth} has a chat")
        elif not unreadable:
            self.add(OK, subject, f"user {uid} takes part in all {plural(len(with_chat), 'subtask chat')}")
        elif group.auto_observe:
            self.add(OK, subject, f"user {uid} is not in the chats of {'task' if len(unreadable) == 1 else 'tasks'} {_task_list(unreadable)}; with "
                     f"auto_observe: true the sync adds it as an observer (this needs the right to edit those tasks)")
        else:
            self.add(WARNING, subject, f"user {uid} cannot read the chats of {plural(len(unreadable), 'subtask')}: "
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
        answers = self.portal.existing_chats(asked)  # check, like audit, gives no switched task a chat
        chats = {tid: chat for tid, chat in answers.items() if isinstance(chat, int)}
        requests = -(-len(asked) // 50)
        if chats or (row is not None and master.chat_id and not row.chat_id):
            self.add(OK, subject, f"task lists carry chatId: no; chats are looked up, 1 request per 50 new tasks "
                     f"(here {plural(len(asked), 'subtask')}, {plural(requests, 'request')}, once per task)")
        else:
            self.add(OK, subject, f"task lists carry no chatId and none of the {plural(len(asked), 'subtask')} has a chat: "
                     "classic comments")
        return [replace(t, chat_id=chats.get(t.id) or t.chat_id) for t in inside]


