"""Request parameters as PHP reads them: bracket syntax in query strings and form bodies, JSON bodies,
and the positional argument lists of task.commentitem.* / task.checklistitem.*."""
from __future__ import annotations

import re
from typing import Any, Iterable
from urllib.parse import parse_qsl

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    """'a[b][0][c]' -> ['a', 'b', '0', 'c']; 'select[]' -> ['select', '']."""
    first = key.find("[")
    if first <= 0:
        return [key]
    head, rest = key[:first], key[first:]
    parts = [head]
    pos = 0
    for m in _BRACKETS.finditer(rest):
        if m.start() != pos:  # PHP stops at the first malformed bracket: keep the remainder literal
            break
        parts.append(m.group(1))
        pos = m.end()
    return parts


def _listify(node: Any) -> Any:
    """PHP has one array type; a map whose keys are exactly 0..n-1 reads best as a JSON list."""
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(isinstance(k, str) and k.isdigit() for k in node) and \
                [int(k) for k in node] == list(range(len(node))):
            return list(node.values())
    return node


def build(pairs: Iterable[tuple[str, str]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # 'x[]' appends: the next free integer index, as PHP does
                ints = [int(k) for k in node if isinstance(k, str) and k.isdigit()]
                part = str(max(ints) + 1 if ints else 0)
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    # The top level stays a map: numeric top-level keys are positional arguments, read by positional().
    return {k: _listify(v) for k, v in out.items()}


def parse_query(text: str) -> dict:
    """'filter[GROUP_ID]=5&select[]=ID' -> {'filter': {'GROUP_ID': '5'}, 'select': ['ID']}.
    parse_qsl turns '+' into a space, exactly like PHP: an unencoded '+' in a date is lost."""
    return build(parse_qsl(text, keep_blank_values=True))


def ci_get(params: dict, name: str, default: Any = None) -> Any:
    """Top-level parameter names are case-insensitive on the portal (taskId, TASKID, taskid)."""
    if name in params:
        return params[name]
    low = name.lower()
    for key, value in params.items():
        if isinstance(key, str) and key.lower() == low:
            return value
    return default


def positional(params: Any) -> list:
    """The argument list of a positional method.
    - a JSON list is taken as is;
    - numeric keys (form/query '0=..&1[..]=..') are ordered by number;
    - named keys (JSON {"TASKID":..,"ITEMID":..}) are taken in the order they were sent."""
    if isinstance(params, list):
        return list(params)
    if not isinstance(params, dict):
        return []
    items = [(k, v) for k, v in params.items() if not (isinstance(k, str) and k.lower() == "auth")]
    numeric = [(int(k), v) for k, v in items if isinstance(k, str) and k.isdigit()]
    if numeric and len(numeric) == len(items):
        return [v for _, v in sorted(numeric)]
    return [v for _, v in items]
