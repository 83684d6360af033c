"""The shape of state records: a JSON state checked whole before it is migrated, each changed row
before it is written.

A record that would not read back (a wrong type, a NaN, the webhook secret) is never written;
one that does not read is reported with the dotted path of its first problem.
"""
from __future__ import annotations

from typing import Any

from b24mirror.policy.models import MARKER_RE, Marker

class _Invalid(Exception):
    """A problem in the state's structure; the message says where and what."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _marker_key(marker: Marker | str) -> str:
    if isinstance(marker, Marker):
        return str(marker)
    if isinstance(marker, str):
        return str(Marker.parse(marker))
    raise TypeError(f"a marker must be a Marker or its string, not {type(marker).__name__}")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if _is_int(value):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_GROUP_FIELDS = ("baseline", "cursor", "runs", "last_success", "last_error", "ledger", "tasks", "meta")


def _find_secret(value: Any, secret: str, where: str) -> str | None:
    """The dotted path of the first string (key or value) that contains the secret."""
    if isinstance(value, str):
        return (where or "(top level)") if secret in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and secret in key:
                return f"a key under {where or '(top level)'}"
            found = _find_secret(item, secret, here)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_secret(item, secret, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _expect(value: Any, ok: bool, where: str, wanted: str) -> None:
    if not ok:
        raise _Invalid(f"{where} is {_type_name(value)}, expected {wanted}")


def _check_json(value: Any, where: str) -> None:
    """Free-form parts (task snapshots, meta) must still be plain JSON."""
    if value is None or isinstance(value, (str, bool)) or _is_int(value):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Invalid(f"{where} is not a finite number")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Invalid(f"{where} has a key {key!r} that is not a string")
            _check_json(item, f"{where}.{key}")
        return
    raise _Invalid(f"{where} is {_type_name(value)}, which JSON cannot hold")


def _validate(document: Any) -> None:
    """Check the whole structure; raise _Invalid naming the first problem found."""
    _expect(document, isinstance(document, dict), "the top level", "an object")
    if "version" not in document:
        raise _Invalid('it has no "version"')
    version = document["version"]
    _expect(version, _is_int(version), '"version"', "an integer")
    if version < 1:
        raise _Invalid(f'"version" is {version}, expected 1')
    groups = document.get("groups", {})
    _expect(groups, isinstance(groups, dict), '"groups"', "an object")
    for gid, body in groups.items():
        if not (isinstance(gid, str) and gid.isascii() and gid.isdigit() and int(gid) > 0):
            raise _Invalid(f'"groups" has a key {gid!r} that is not a group id')
        where = f"groups.{gid}"
        _expect(body, isinstance(body, dict), where, "an object")
        for name in ("baseline", "cursor", "last_success"):
            value = body.get(name)
            _expect(value, value is None or isinstance(value, str), f"{where}.{name}", "a date string or null")
        runs = body.get("runs", 0)
        _expect(runs, _is_int(runs) and runs >= 0, f"{where}.runs", "a non-negative integer")
        error = body.get("last_error")
        if error is not None:
            _expect(error, isinstance(error, dict), f"{where}.last_error", "an object or null")
            for name in ("at", "message"):
                value = error.get(name)
                _expect(value, isinstance(value, str), f"{where}.last_error.{name}", "a string")
        ledger = body.get("ledger", {})
        _expect(ledger, isinstance(ledger, dict), f"{where}.ledger", "an object")
        for marker, record in ledger.items():
            if not (isinstance(marker, str) and MARKER_RE.fullmatch(marker)):
                raise _Invalid(f"{where}.ledger has a key {marker!r} that is not a b24mirror marker")
            here = f"{where}.ledger.{marker}"
            _expect(record, isinstance(record, dict), here, "an object")
            mirror_id = record.get("id")
            _expect(mirror_id, mirror_id is None or _is_int(mirror_id), f"{here}.id", "an integer or null")
            posted_at = record.get("posted_at")
            _expect(posted_at, isinstance(posted_at, str), f"{here}.posted_at", "a date string")
        tasks = body.get("tasks", {})
        _expect(tasks, isinstance(tasks, dict), f"{where}.tasks", "an object")
        for task_id, snapshot in tasks.items():
            if not (isinstance(task_id, str) and task_id.isascii() and task_id.isdigit()):
                raise _Invalid(f"{where}.tasks has a key {task_id!r} that is not a task id")
            _expect(snapshot, isinstance(snapshot, dict), f"{where}.tasks.{task_id}", "an object")
            _check_json(snapshot, f"{where}.tasks.{task_id}")
        meta = body.get("meta", {})
        _expect(meta, isinstance(meta, dict), f"{where}.meta", "an object")
        _check_json(meta, f"{where}.meta")
