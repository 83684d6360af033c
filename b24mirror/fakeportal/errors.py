"""Errors the fake portal answers with, in the portal's own shapes."""
from __future__ import annotations


class RestError(Exception):
    """A classic REST error: {"error": code, "error_description": text} with an HTTP status."""

    def __init__(self, code: str, description: str = "", status: int = 400):
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.code, "error_description": self.description}


class V3Error(RestError):
    """A REST 3.0 error: {"error": {"code", "message", "validation": [...]}} (no error_description)."""

    def __init__(self, code: str, message: str, validation: list | None = None, status: int = 400):
        super().__init__(code, message, status)
        self.validation = validation or []

    def body(self) -> dict:
        err: dict = {"code": self.code, "message": self.description}
        if self.validation:
            err["validation"] = self.validation
        return {"error": err}


def task_error(code: str, text: str) -> RestError:
    """Task-module methods answer 400 and end their text with '(internal error)'."""
    return RestError(code, f"{text} (internal error)", 400)


def core_error(text: str) -> RestError:
    """The ERROR_CORE style of task.commentitem.* / task.checklistitem.* (text ends with <br>)."""
    return RestError("ERROR_CORE", f"{text}<br>", 400)


def access_error() -> RestError:
    return RestError("ACCESS_ERROR", "You do not have access to the specified dialog", 403)


def not_found(method: str) -> RestError:
    return RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
