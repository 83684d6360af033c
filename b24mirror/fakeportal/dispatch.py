"""Method registry and one call: scope check, operating budget, the handler, the call log."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from b24mirror.fakeportal.errors import RestError, not_found

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.fakeportal.portal import FakePortal

PAGE = 50


@dataclass
class Caller:
    user_id: int
    scopes: frozenset
    key: str  # who the operating budget is counted for: the webhook or the OAuth app
    v3: bool = False


@dataclass
class Reply:
    result: Any
    total: int | None = None
    next: int | None = None
    operating: dict = field(default_factory=dict)


Handler = Callable[["FakePortal", Caller, Any], Reply | Any]

METHODS: dict[str, tuple[str | None, Handler]] = {}
V3_METHODS: dict[str, tuple[str | None, Handler]] = {}
# Methods that read their parameters by position (the raw params go to the handler untouched).
POSITIONAL_PREFIXES = ("task.commentitem.", "task.checklistitem.")


def method(name: str, scope: str | None, v3: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        (V3_METHODS if v3 else METHODS)[name.lower()] = (scope, fn)
        return fn
    return register


def _load() -> None:
    # Importing the modules registers their methods.
    from b24mirror.fakeportal.methods import checklist, comments, core, im, results, tasks, users  # noqa: F401


SCOPE_ALIASES = {"user": {"user", "user_basic", "user_brief"}, "sonet_group": {"sonet_group", "socialnetwork", "sonet"}}


def has_scope(caller: Caller, scope: str | None) -> bool:
    if scope is None:
        return True
    return bool(caller.scopes & SCOPE_ALIASES.get(scope, {scope}))


def call(portal: "FakePortal", caller: Caller, name: str, params: Any, in_batch: bool = False) -> Reply:
    """Run one method for one caller. Raises RestError; the caller shapes the answer."""
    _load()
    name = name.lower()
    table = V3_METHODS if caller.v3 else METHODS
    if name not in table:
        raise not_found(name)
    scope, handler = table[name]
    if isinstance(params, dict) and name.startswith(POSITIONAL_PREFIXES):
        # CRestServer::processCall takes `start` out before the method runs: never a positional argument.
        params = {k: v for k, v in params.items() if k != "start"}
    if not has_scope(caller, scope):
        raise RestError("insufficient_scope",
                        f"The request requires higher privileges than provided by the webhook token (scope: {scope})",
                        403)
    with portal.lock:
        now = portal.now_ts()
        if portal.limits and portal.operating.over(caller.key, name, now):
            portal.stats.rejected_429 += 1
            raise RestError("OPERATION_TIME_LIMIT", f"Method is blocked due to operation time limit ({name})", 429)
        error = None
        try:
            portal.faults.refusal(name, params)  # a command the portal always refuses (fault injection)
            out = handler(portal, caller, params)
        except RestError as exc:
            error = exc.code
            raise
        finally:
            usage = portal.operating.charge(caller.key, name, now)
            portal.log_call(name, params, caller.user_id, in_batch, error)
        reply = out if isinstance(out, Reply) else Reply(out)
        reply.operating = {"operating_reset_at": usage.reset_at, "operating": usage.operating}
        return reply


# ---- helpers the method modules share ----------------------------------------------------------------

def to_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "" or isinstance(value, (dict, list)):
        return default
    try:
        return int(float(value)) if isinstance(value, (str, float)) else int(value)
    except (TypeError, ValueError):
        return default


def page(rows: list, start: Any) -> Reply:
    """Offset paging by 50: start rounds down to a multiple of 50; start=-1 skips the count (no total,
    no next) and returns the first 50 rows of what the filter leaves."""
    s = to_int(start, 0) or 0
    if s == -1:
        return Reply(rows[:PAGE])
    s = max(0, s) // PAGE * PAGE
    chunk = rows[s:s + PAGE]
    nxt = s + PAGE if s + PAGE < len(rows) else None
    return Reply(chunk, total=len(rows), next=nxt)
