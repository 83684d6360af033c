"""What b24mirror asks of Bitrix24, in its own terms.

Each read is a `Query` (queries.py): a method, its parameters and a parser from the wire shape to the
models (wire.py). Queries are run together through `batch` by the `Portal` (client.py), so one HTTP
request can serve many tasks and many groups. Wire quirks are absorbed here: string ids in task and
comment payloads, ints in chat payloads, `[]` where a map is meant, dates in two formats.
"""
from b24mirror.portal.wire import (BadAnswer, ChatPage, master_comments_from, parse_chat_messages, parse_classic_comments, parse_history, parse_members, parse_results, parse_task, parse_task_get, parse_task_page, parse_users, reading_world)
from b24mirror.portal.queries import (NEWEST, PAGE, Page, Query, TASK_SELECT, q_chat_messages, q_classic_comments, q_group_tasks, q_history, q_members, q_results, q_task, q_task_chat_id, q_existing_task_chat, q_tasks_by_activity, q_tasks_by_ids, q_tasks_changed_since, q_users)
from b24mirror.portal.client import (Portal, learn_timezone)

__all__ = ['BadAnswer', 'ChatPage', 'NEWEST', 'PAGE', 'Page', 'Portal', 'Query', 'TASK_SELECT', 'learn_timezone', 'master_comments_from', 'parse_chat_messages', 'parse_classic_comments', 'parse_history', 'parse_members', 'parse_results', 'parse_task', 'parse_task_get', 'parse_task_page', 'parse_users', 'q_chat_messages', 'q_classic_comments', 'q_group_tasks', 'q_history', 'q_members', 'q_results', 'q_task', 'q_task_chat_id', 'q_existing_task_chat', 'q_tasks_by_activity', 'q_tasks_by_ids', 'q_tasks_changed_since', 'q_users', 'reading_world']
