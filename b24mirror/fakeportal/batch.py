"""batch: up to 50 "method?query" commands run in order, with $result[...] references and halt.

The outer call answers HTTP 200 whatever the commands do; it is not charged to the operating budget,
each command is charged to its own method."""
from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from b24mirror.fakeportal import dispatch
from b24mirror.fakeportal.errors import RestError
from b24mirror.fakeportal.params import ci_get, parse_query
from b24mirror.fakeportal.views import php_map

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.fakeportal.portal import FakePortal

MAX_COMMANDS = 50
_REF = re.compile(r"\$result\[([^\]]*)\]((?:\[[^\]]*\])*)")


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "y", "yes")


def _resolve(results: dict, match: re.Match) -> tuple[bool, Any]:
    if match.group(1) not in results:
        return False, None
    node = results[match.group(1)]
    for part in re.findall(r"\[([^\]]*)\]", match.group(2)):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False, None
    return True, node


def _substitute(value: Any, results: dict) -> Any:
    """Replace $result[cmd][field]... in every value; a value that is a whole reference takes the referenced
    value as is (a list stays a list), an embedded one is spliced in as text. Unknown references stay."""
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if not isinstance(value, str) or "$result[" not in value:
        return value
    whole = _REF.fullmatch(value)
    if whole:
        found, node = _resolve(results, whole)
        return node if found else value

    def splice(m: re.Match) -> str:
        found, node = _resolve(results, m)
        return str(node) if found and not isinstance(node, (dict, list)) else m.group(0)
    return _REF.sub(splice, value)


def _as_php_array(d: dict, was_list: bool) -> Any:
    if was_list and d and list(d) == [str(i) for i in range(len(d))]:
        return list(d.values())
    return php_map(d)


def run(portal: "FakePortal", caller: dispatch.Caller, params: Any) -> dict:
    params = params if isinstance(params, dict) else {}
    cmd = ci_get(params, "cmd")
    halt = _truthy(ci_get(params, "halt", 0))
    was_list = isinstance(cmd, list)
    items = [(str(i), c) for i, c in enumerate(cmd)] if was_list else \
        [(str(k), v) for k, v in cmd.items()] if isinstance(cmd, dict) else []
    if len(items) > MAX_COMMANDS:
        raise RestError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded", 400)
    results: dict = {}
    errors: dict = {}
    totals: dict = {}
    nexts: dict = {}
    times: dict = {}
    for key, spec in items:
        name, _, query = str(spec).partition("?")
        name = name.strip().lower()
        started, t0 = portal.now_ts(), time.perf_counter()
        try:
            if name == "batch":
                portal.log_call(name, query, caller.user_id, True, "ERROR_BATCH_METHOD_NOT_ALLOWED")
                raise RestError("ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", 405)
            sub = _substitute(parse_query(query), results)
            reply = dispatch.call(portal, caller, name, sub, in_batch=True)
        except RestError as exc:
            errors[key] = exc.body()
            if halt:
                break
            continue
        results[key] = reply.result
        if reply.total is not None:
            totals[key] = reply.total
        if reply.next is not None:
            nexts[key] = reply.next
        times[key] = portal.time_block(started, time.perf_counter() - t0, reply.operating)
    return {"result": _as_php_array(results, was_list), "result_error": _as_php_array(errors, was_list),
            "result_total": _as_php_array(totals, was_list), "result_next": _as_php_array(nexts, was_list),
            "result_time": _as_php_array(times, was_list)}
