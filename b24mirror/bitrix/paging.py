"""Lists that prove they are complete: offset pages fetched together in batches, or keyset paging; de-duplicated
by id; and an error, never a short list, when a page fails."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from b24mirror.bitrix.errors import IncompleteList, TransportError

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.bitrix.client import BitrixClient

log = logging.getLogger("b24mirror.bitrix")

PAGE_SIZE = 50
LIST_ROUNDS = 3  # fresh starts when the set changed while it was being paged


def rows_of(result: Any, items_key: str | None, method: str) -> list:
    """The rows of one page; [] accepted where {} is meant."""
    if items_key is not None:
        if result is None or result == [] or result == {}:
            return []
        if not isinstance(result, dict):
            raise TransportError("BAD_PAGE", f"expected an object with {items_key!r}, got {type(result).__name__}",
                                 method=method)
        rows = result.get(items_key)
        result = [] if rows is None else rows
    if result is None:
        return []
    if isinstance(result, list):
        return result
    if isinstance(result, dict):  # a map keyed by id
        return list(result.values())
    raise TransportError("BAD_PAGE", f"expected a list of rows, got {type(result).__name__}", method=method)


def _id(row: Any, id_key: str) -> Any:
    return row.get(id_key) if isinstance(row, dict) else None


def dedupe(rows: list, id_key: str) -> list:
    seen: set[str] = set()
    out = []
    for row in rows:
        ident = _id(row, id_key)
        if ident is not None:
            if str(ident) in seen:
                continue
            seen.add(str(ident))
        out.append(row)
    return out


def list_all(client: "BitrixClient", method: str, params: dict | None = None, *, items_key: str | None = None,
             id_key: str = "ID") -> list:
    base = dict(params or {})
    start0 = int(base.pop("start", 0) or 0)
    problem = ""
    for round_no in range(LIST_ROUNDS):
        first = client.call(method, {**base, "start": start0}, write=False)
        rows = rows_of(first.result, items_key, method)
        total = first.total
        if first.next is None:
            merged = dedupe(rows, id_key)
            if total is None or len(merged) >= total - start0:
                return merged
            problem = f"the portal reports {total} rows but gave {len(merged)} and no next page"
            log.info("%s: %s; listing again", method, problem)
            continue
        if total is None:
            return _follow_next(client, method, base, rows, first.next, items_key, id_key)
        step = first.next - start0 if first.next > start0 else PAGE_SIZE
        starts = list(range(first.next, total, step))
        pages = client.batch({str(s): (method, {**base, "start": s}) for s in starts})
        totals = {total}
        for s in starts:
            item = pages[str(s)]
            if item.error is not None:
                raise item.error  # a failed page is an error, never a short list
            rows.extend(rows_of(item.result, items_key, method))
            if item.total is not None:
                totals.add(item.total)
        merged = dedupe(rows, id_key)
        if len(totals) == 1 and len(merged) == total - start0:
            return merged
        problem = (f"the set changed while being paged (totals {sorted(totals)}, {len(merged)} distinct rows "
                   f"for a total of {total})")
        log.info("%s: %s; listing again", method, problem)
    raise IncompleteList("INCOMPLETE_LIST", f"could not list completely after {LIST_ROUNDS} tries: {problem}",
                         method=method)


def _follow_next(client: "BitrixClient", method: str, base: dict, rows: list, next_start: int | None,
                 items_key: str | None, id_key: str) -> list:
    seen_starts: set[int] = set()
    while next_start is not None:
        if next_start in seen_starts:
            raise IncompleteList("INCOMPLETE_LIST", f"paging looped at start={next_start}", method=method)
        seen_starts.add(next_start)
        page = client.call(method, {**base, "start": next_start}, write=False)
        rows.extend(rows_of(page.result, items_key, method))
        next_start = page.next
    return dedupe(rows, id_key)


def _as_number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def list_keyset(client: "BitrixClient", method: str, params: dict | None = None, *, items_key: str | None = None,
                id_key: str = "ID", filter_key: str = "filter", id_filter: str = ">ID", order_key: str | None = "order",
                page_size: int = PAGE_SIZE) -> list:
    """Ordered by id ascending, filter id_filter > last id, start=-1 (no counting); stops at a short page."""
    base = dict(params or {})
    base.pop("start", None)
    field_name = id_filter.lstrip("<>=!%@")
    if order_key:
        base.setdefault(order_key, {field_name: "ASC"})
    filt = dict(base.get(filter_key) or {})
    last = filt.get(id_filter)
    out: list = []
    seen: set[str] = set()
    while True:
        page_filter = dict(filt)
        if last is not None:
            page_filter[id_filter] = last
        page = client.call(method, {**base, filter_key: page_filter, "start": -1}, write=False)
        rows = rows_of(page.result, items_key, method)
        ids = [_as_number(_id(r, id_key)) for r in rows if _id(r, id_key) is not None]
        for row in rows:
            ident = _id(row, id_key)
            if ident is not None and str(ident) in seen:
                continue
            if ident is not None:
                seen.add(str(ident))
            out.append(row)
        if len(rows) < page_size:
            return out
        if len(ids) != len(rows):
            raise IncompleteList("INCOMPLETE_LIST", f"rows without {id_key!r}: cannot page by id", method=method)
        new_last = max(ids)
        if last is not None and not _greater(new_last, _as_number(last)):
            raise IncompleteList("INCOMPLETE_LIST", f"keyset paging made no progress past {id_key}={last}", method=method)
        last = new_last


def _greater(a: Any, b: Any) -> bool:
    try:
        return a > b
    except TypeError:
        return str(a) > str(b)
