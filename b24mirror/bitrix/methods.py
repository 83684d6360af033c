"""Which methods write: a write is never sent twice when its outcome is unknown."""
from __future__ import annotations

READ_VERBS = frozenset({"get", "list", "getlist", "fields", "getfields", "current", "search", "count", "counters",
                        "access", "getaccess", "info", "isactionallowed", "time", "scope", "methods", "method"})
READ_METHODS = frozenset({"profile", "methods", "scope", "app.info", "server.time", "user.current", "batch"})


def is_write(method: str) -> bool:
    """Inferred from the last segment of the name: get*/list*/fields/... read; add/update/delete/send/complete/
    renew/set and anything unrecognised write (the safe side: unknown outcomes are never resent)."""
    name = method.strip().lower()
    if name in READ_METHODS:
        return False
    verb = name.rsplit(".", 1)[-1]
    if verb in READ_VERBS or verb.startswith("get") or verb.startswith("list"):
        return False
    return True
