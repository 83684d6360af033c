"""The words of a mirror, in the two languages a group can choose (ru is the fallback)."""
from __future__ import annotations

STATUS_NAMES = {
    "ru": {1: "Новая", 2: "Ждёт выполнения", 3: "Выполняется", 4: "Ждёт контроля", 5: "Завершена", 6: "Отложена", 7: "Отклонена"},
    "en": {1: "New", 2: "Pending", 3: "In progress", 4: "Awaiting control", 5: "Completed", 6: "Deferred", 7: "Declined"},
}

LABELS = {
    "ru": {
        "attachments": "Вложения",
        "more": "и ещё {n}",
        "read_full": "Читать полностью",
        "redacted": "[скрыто]",
        "status": "Статус",
        "deadline": "Крайний срок",
        "responsible": "Ответственный",
        "title": "Название",
        "new_subtask": "Новая подзадача",
        "moved_subtask": "Перенесена в проект",
        "in_task": "в задаче",
        "created_by": "Автор",
        "all": "все",
        "unknown_person": "(имя неизвестно)",
        "deleted_comment": "Комментарий удалён в источнике",
        "deleted_event": "Событие удалено в источнике",
        "deleted_subtask": "Подзадача удалена",
        "withdrawn": "Отозвано в источнике",
    },
    "en": {
        "attachments": "Attachments",
        "more": "and {n} more",
        "read_full": "Read in full",
        "redacted": "[redacted]",
        "status": "Status",
        "deadline": "Deadline",
        "responsible": "Responsible",
        "title": "Title",
        "new_subtask": "New subtask",
        "moved_subtask": "Moved into the project",
        "in_task": "in task",
        "created_by": "Created by",
        "all": "all",
        "unknown_person": "(name unknown)",
        "deleted_comment": "The source comment was deleted",
        "deleted_event": "The source event was deleted",
        "deleted_subtask": "The subtask was deleted",
        "withdrawn": "Withdrawn at the source",
    },
}


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["ru"])


def statuses_for(language: str) -> dict[int, str]:
    return STATUS_NAMES.get(language, STATUS_NAMES["ru"])
