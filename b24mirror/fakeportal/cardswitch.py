"""The switch to the new task card, for one group or the whole portal, at a moment of a test.

As the platform's source has it (tasks lib/V2/FormV2Feature.php; the task provider's createChatForExistingTask;
Esg/Handler/CreateChatForExistingTaskHandler.php; Im/Action/NotifyTaskHasForumComments.php):
- Tasks created after the switch are born with a chat.
- A task created before it gets its chat lazily: when someone opens it (a person's comment, a field change) and,
  under the reading chat_for_switched_task=on_get (the default), on the first tasks.task.get, which answers
  chatId. The chat opens with system notices (author 0): the chat was created and, when the task has forum
  comments, that it has comments in the old format, with a link to them.
- Its forum comments stay where they were (task.commentitem.getlist still lists them; commentsCount counts only
  them); every new comment, task.commentitem.add included, lands in the chat.
"""
from __future__ import annotations

from b24mirror.fakeportal import chatpages
from b24mirror.fakeportal.model import Chat, Task

CHAT_CREATED = "TASK_CHAT_CREATED"


class CardSwitchMixin:
    def switch_to_new_card(self, group_id: int | None = None) -> None:
        """Turn the new card on for one group, or for every group when group_id is None."""
        with self.lock:
            if group_id is None:
                self.new_card_everywhere = True
            else:
                self.new_card_groups.add(int(group_id))

    def card_is_new(self, group_id: int | None) -> bool:
        return self.new_card_everywhere or bool(group_id and int(group_id) in self.new_card_groups)

    def open_card(self, task: Task) -> Chat | None:
        """A task of a switched group gets its chat the first time it is opened; the chat, or None (classic)."""
        if task.chat_id is not None:
            return self.chats[task.chat_id]
        if not self.card_is_new(task.group_id):
            return None
        chat = Chat(self._next("chat"), task.id)
        self.chats[chat.id] = chat
        task.chat_id = chat.id
        chatpages.sync_relations(self, task)
        self.post_message(chat, 0, "The chat of the task was created", {"CODE": [CHAT_CREATED]})
        if self.comments_count(task):
            link = f"/company/personal/user/0/tasks/task/view/{task.id}/?commentsTab=forum"
            self.post_message(chat, 0, f"The task has comments in the old format: [URL={link}]view them[/URL]")
        return chat

    def opened_by_reading(self, task: Task) -> None:
        """tasks.task.get asks for CHAT_ID: under the reading on_get, that alone creates a switched task's chat."""
        if self.reading("chat_for_switched_task") == "on_get":
            with self.lock:
                self.open_card(task)
