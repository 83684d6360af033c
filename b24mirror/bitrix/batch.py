"""batch: any number of commands, split into requests of 50, and a result or an error for every one of them."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from b24mirror.bitrix.encode import command as encode_command
from b24mirror.bitrix.errors import (BitrixError, BudgetExceeded, OutcomeUnknown, RequestError,
                                     RetryableError, TransportError, classify)
from b24mirror.bitrix.masking import mask_text
from b24mirror.bitrix.methods import is_write

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.bitrix.client import BitrixClient

log = logging.getLogger("b24mirror.bitrix")

MAX_COMMANDS = 50


@dataclass
class BatchItem:
    result: Any = None
    error: BitrixError | None = None
    total: int | None = None
    next: int | None = None
    time: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class _Command:
    key: str
    method: str
    params: dict
    write: bool

    @property
    def refers_back(self) -> bool:  # uses $result[...] of another command: must stay in its original request
        return "$result[" in json.dumps(self.params, default=str)


def _normalise(commands: Mapping[str, Any] | Iterable[Any]) -> list[_Command]:
    pairs = commands.items() if isinstance(commands, Mapping) else ((str(i), c) for i, c in enumerate(commands))
    out = []
    for key, spec in pairs:
        if isinstance(spec, str):
            method, params = spec, {}
        else:
            try:
                method, params = spec
            except (TypeError, ValueError):
                raise ValueError(f"batch command {key!r} must be (method, params), got {spec!r}") from None
        out.append(_Command(str(key), str(method), dict(params or {}), is_write(str(method))))
    return out


def _as_map(value: Any) -> dict[str, Any]:
    """PHP sends an empty map as [] and a map with keys 0..n-1 as a list."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _item_error(client: "BitrixClient", cmd: _Command, raw: Any) -> BitrixError:
    if isinstance(raw, dict):
        code, desc = raw.get("error", ""), raw.get("error_description", "")
        if isinstance(code, dict):  # REST 3.0 shape inside a batch
            desc, code = code.get("message", ""), code.get("code", "")
    else:
        code, desc = "ERROR", str(raw)
    error = classify("" if code is None else str(code), str(desc or ""), method=cmd.method)
    if isinstance(error, BudgetExceeded):
        error.reset_at = client.pacer.block(cmd.method, error.reset_at)
    elif cmd.write and isinstance(error, RetryableError) and error.code != "QUERY_LIMIT_EXCEEDED":
        error = OutcomeUnknown(error.raw_code, f"a write in a batch failed on the portal's side ({error.description}); "
                               "it may or may not have run: read back before writing again", method=cmd.method)
    return error


def _send_chunk(client: "BitrixClient", chunk: list[_Command], halt: bool) -> dict[str, BatchItem]:
    out: dict[str, BatchItem] = {}
    ready: list[tuple[str, _Command]] = []
    for cmd in chunk:
        try:
            client.pacer.check_budget(cmd.method)
        except BudgetExceeded as exc:
            out[cmd.key] = BatchItem(error=exc)  # never called before its reset
            continue
        ready.append((f"c{len(ready)}", cmd))
    if not ready:
        return out
    cmd_map = {ikey: encode_command(c.method, c.params) for ikey, c in ready}
    write = any(c.write for _, c in ready)
    client.stats.batch_commands += len(ready)
    response = client.call("batch", {"halt": 1 if halt else 0, "cmd": cmd_map}, write=write)
    body = response.result if isinstance(response.result, dict) else {}
    results, errors = _as_map(body.get("result")), _as_map(body.get("result_error"))
    totals, nexts, times = _as_map(body.get("result_total")), _as_map(body.get("result_next")), _as_map(body.get("result_time"))
    halted = halt and bool(errors)
    for ikey, cmd in ready:
        time_info = times.get(ikey) if isinstance(times.get(ikey), dict) else {}
        client.pacer.observe(cmd.method, time_info)
        if ikey in errors:
            out[cmd.key] = BatchItem(error=_item_error(client, cmd, errors[ikey]), time=time_info)
        elif ikey in results:
            out[cmd.key] = BatchItem(result=results[ikey], total=_int(totals.get(ikey)), next=_int(nexts.get(ikey)),
                                     time=time_info)
        elif halted:
            out[cmd.key] = BatchItem(error=RequestError("BATCH_HALTED", "not run: an earlier command failed and "
                                                        "halt was set", method=cmd.method))
        elif cmd.write:
            out[cmd.key] = BatchItem(error=OutcomeUnknown("OUTCOME_UNKNOWN", "the batch answer has neither a result "
                                                          "nor an error for this write; read back before writing "
                                                          "again", method=cmd.method))
        else:
            out[cmd.key] = BatchItem(error=TransportError("BATCH_RESULT_MISSING", "the batch answer has neither a "
                                                          "result nor an error for this command", method=cmd.method))
    return out


def _retry_delay(client: "BitrixClient", round_no: int) -> float | None:
    policy = client._retry
    delay = min(policy.maximum, policy.initial * (2 ** round_no)) + client.rng.uniform(0, policy.jitter)
    if client.deadline is not None and client.clock() + delay > client.deadline:
        return None
    return delay


def run_batch(client: "BitrixClient", commands: Mapping[str, Any] | Iterable[Any], *, halt: bool = False) -> dict[str, BatchItem]:
    cmds = _normalise(commands)
    keys = [c.key for c in cmds]
    if len(set(keys)) != len(keys):
        raise ValueError("batch command keys must be unique")
    by_key = {c.key: c for c in cmds}
    items: dict[str, BatchItem] = {}
    pending = cmds
    requests = -(-len(cmds) // MAX_COMMANDS)
    for round_no in range(max(1, client.max_attempts)):
        stopped = False
        for start in range(0, len(pending), MAX_COMMANDS):
            chunk = pending[start:start + MAX_COMMANDS]
            if stopped:
                for cmd in chunk:
                    items[cmd.key] = BatchItem(error=RequestError("BATCH_HALTED", "not run: an earlier command "
                                                                  "failed and halt was set", method=cmd.method))
                continue
            got = _send_chunk(client, chunk, halt)
            items.update(got)
            told = getattr(client, "read_progress", None)
            if round_no == 0 and told is not None and not any(c.write for c in chunk):
                told(start // MAX_COMMANDS + 1, requests)
            if halt and any(item.error for item in got.values()):
                stopped = True
        if halt:
            break
        # Transient failures of single commands (reads, or writes that provably did not run) get another round.
        pending = [by_key[k] for k in keys
                   if isinstance(items[k].error, RetryableError) and not by_key[k].refers_back
                   and (not by_key[k].write or items[k].error.code == "QUERY_LIMIT_EXCEEDED")]
        if not pending or round_no + 1 >= client.max_attempts:
            break
        delay = _retry_delay(client, round_no)
        if delay is None:
            break
        log.debug("batch: %d command(s) failed transiently; retrying them in %.1fs (%s)", len(pending), delay,
                 mask_text(str(items[pending[0].key].error)))
        client.stats.retries += 1
        client.stats.waited_seconds += delay
        client.sleep(delay)
    return {k: items[k] for k in keys}
