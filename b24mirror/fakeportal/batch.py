"""batch (rest_provider.php methodsBatch, CRestUtil::ParseBatchQuery): "method?query" commands run in order,
with $result/$next/$total/$time/$error references and halt.

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
# CRestUtil::processBatchElement: "$" + one of the answer's parts, then everything up to a space.
_REF = re.compile(r"\$(result|next|total|time|error)(\S*)", re.IGNORECASE)
_STEP = re.compile(r"\[([^\]]+)\]")


def php_truthy(value: Any) -> bool:
    """(bool) in PHP: null, false, 0, 0.0, "", "0" and empty arrays are false; "false" and "N" are true."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, (list, dict)):
        return bool(value)
    return True


def php_string(value: Any) -> str:
    """How PHP splices a value into a string: arrays become "Array", true "1", false and null ""."""
    if isinstance(value, (list, dict)):
        return "Array"
    if value is True:
        return "1"
    if value is None or value is False:
        return ""
    return str(value)


def _walk(parts: dict, match: re.Match) -> Any:
    """Follow [a][b]... from the named part; at the first step that is missing, stop: the partial value stands."""
    node: Any = parts[match.group(1).lower()]
    for step in _STEP.findall(match.group(2)):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            break
    return node


def _substitute(value: Any, parts: dict) -> Any:
    """Resolve $result[..], $next[..], $total[..], $time[..], $error[..] in every value. A value that is a whole
    reference takes the referenced value as is (a list stays a list); an embedded one is spliced in as PHP text,
    and the reference's match runs to the next space, so text glued to it is replaced too."""
    if isinstance(value, dict):
        return {k: _substitute(v, parts) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, parts) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    for match in list(_REF.finditer(value)):
        if not _STEP.search(match.group(2)):
            continue
        node = _walk(parts, match)
        if match.group(0) == value:
            return node
        value = value.replace(match.group(0), php_string(node))
    return value


def php_array(d: dict) -> Any:
    """json_encode of a PHP array: keys exactly 0..n-1 make a list ({"0":..,"1":..} sent as cmd included)."""
    if d and list(d) == [str(i) for i in range(len(d))]:
        return list(d.values())
    return php_map(d)


def _commands(cmd: Any) -> list[tuple[str, Any]]:
    if isinstance(cmd, list):
        return [(str(i), c) for i, c in enumerate(cmd)]
    if isinstance(cmd, dict):
        return [(str(k), v) for k, v in cmd.items()]
    return []


def _one(portal: "FakePortal", caller: dispatch.Caller, spec: Any, parts: dict) -> dispatch.Reply:
    name, _, query = str(spec).partition("?")
    name = name.strip().lower()
    if name == "batch":
        portal.log_call(name, query, caller.user_id, True, "ERROR_BATCH_METHOD_NOT_ALLOWED")
        raise RestError("ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", 405)
    return dispatch.call(portal, caller, name, _substitute(parse_query(query), parts), in_batch=True)


def run(portal: "FakePortal", caller: dispatch.Caller, params: Any) -> dict:
    """methodsBatch: the first 50 commands run, each one beyond answers ERROR_BATCH_LENGTH_EXCEEDED; with a
    truthy halt the first error stops the rest. Failed commands have no result_time entry."""
    params = params if isinstance(params, dict) else {}
    halt = php_truthy(ci_get(params, "halt", 0))
    parts: dict[str, dict] = {"result": {}, "next": {}, "total": {}, "time": {}, "error": {}}
    for count, (key, spec) in enumerate(_commands(ci_get(params, "cmd"))):
        started, t0 = portal.now_ts(), time.perf_counter()
        try:
            if count >= MAX_COMMANDS:
                raise RestError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded", 400)
            reply = _one(portal, caller, spec, parts)
        except RestError as exc:
            parts["error"][key] = exc.body()
            if halt:
                break
            continue
        parts["result"][key] = reply.result
        if reply.total is not None:
            parts["total"][key] = reply.total
        if reply.next is not None:
            parts["next"][key] = reply.next
        parts["time"][key] = portal.time_block(started, time.perf_counter() - t0, reply.operating)
    return {"result": php_array(parts["result"]), "result_error": php_array(parts["error"]),
            "result_total": php_array(parts["total"]), "result_next": php_array(parts["next"]),
            "result_time": php_array(parts["time"])}
