"""PHP-style query strings for batch commands: filter[GROUP_ID]=5&select[0]=ID, every value percent-encoded."""
from __future__ import annotations

from typing import Any, Iterator, Mapping
from urllib.parse import quote


def _scalar(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pairs(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if value is None:  # PHP's http_build_query leaves nulls out
        return
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        yield prefix, _scalar(value)
        return
    for key, sub in items:
        yield from _pairs(f"{prefix}[{quote(str(key), safe='')}]", sub)


def http_build_query(params: Mapping[str, Any] | None) -> str:
    """Encode nested params the way PHP reads them. Key parts and values are percent-encoded
    (a '+' in an ISO date becomes %2B); brackets stay literal so the commands stay readable."""
    out: list[str] = []
    for key, value in (params or {}).items():
        for name, text in _pairs(quote(str(key), safe=""), value):
            out.append(f"{name}={quote(text, safe='')}")
    return "&".join(out)


def command(method: str, params: Mapping[str, Any] | None) -> str:
    """One batch command: "method?query" (or just "method" without params)."""
    query = http_build_query(params)
    return f"{method}?{query}" if query else method
