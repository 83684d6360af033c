"""The methods every webhook has whatever its scopes (rest_provider.php getDescription, the global scope):
scope, methods, method.get, server.time. (batch is served by batch.py, profile by users.py.)"""
from __future__ import annotations

from typing import Any

from b24mirror.fakeportal import dispatch
from b24mirror.fakeportal.dispatch import Caller, method
from b24mirror.fakeportal.params import ci_get

GLOBAL = ("batch", "scope", "methods", "method.get", "server.time", "profile")


def _scopes(caller: Caller) -> list[str]:
    return sorted(caller.scopes)


@method("scope", None)
def scope_list(p, caller: Caller, params: Any) -> Any:
    params = params if isinstance(params, dict) else {}
    if _flag(ci_get(params, "full")):
        return sorted({s for s, _ in dispatch.METHODS.values() if s})
    return _scopes(caller)


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "y")


def _available(caller: Caller) -> list[str]:
    names = [n for n, (s, _) in dispatch.METHODS.items() if s is None or dispatch.has_scope(caller, s)]
    return sorted(set(names) | set(GLOBAL))


@method("methods", None)
def methods_list(p, caller: Caller, params: Any) -> Any:
    params = params if isinstance(params, dict) else {}
    wanted = ci_get(params, "scope")
    if wanted not in (None, ""):
        return sorted(n for n, (s, _) in dispatch.METHODS.items() if s == str(wanted))
    if _flag(ci_get(params, "full")):
        return sorted(set(dispatch.METHODS) | set(GLOBAL))
    return _available(caller)


@method("method.get", None)
def method_get(p, caller: Caller, params: Any) -> Any:
    name = str(ci_get(params, "name") or "").lower() if isinstance(params, dict) else ""
    exists = bool(name) and (name in dispatch.METHODS or name in GLOBAL)
    return {"isExisting": exists, "isAvailable": exists and name in _available(caller)}


@method("server.time", None)
def server_time(p, caller: Caller, params: Any) -> Any:
    return p.iso(p.now_ts())
