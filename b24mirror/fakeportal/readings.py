"""Readings: where the truth on a current cloud portal is not settled, the fake portal offers each choice as a
named switch. The default of every reading is the one that is harder for a client; a client must be right under
each alternative. Tests parametrise over READINGS and alternatives().

    FakePortal(readings={"date_format": "iso"})          # a mapping name -> value
    FakePortal(readings={"list_chat_id"})                 # a bare name: its one non-default alternative
    python -m b24mirror.fakeportal --reading date_format=iso --reading list_chat_id
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Union


@dataclass(frozen=True)
class Reading:
    name: str
    values: tuple[str, ...]
    default: str
    why: str
    source: str

    @property
    def alternatives(self) -> tuple[str, ...]:
        return tuple(v for v in self.values if v != self.default)


READINGS: dict[str, Reading] = {r.name: r for r in (
    Reading("list_chat_id", ("absent", "present"), "absent",
            "tasks.task.get returns chatId; no sample and no source shows it in tasks.task.list, so a list leaves "
            "it out and a client must ask tasks.task.get",
            "tasks lib/rest/controllers/task.php (getAction / listAction)"),
    Reading("date_format", ("site", "iso"), "site",
            "older box portals send task, history and comment dates in the site format DD.MM.YYYY HH:MI:SS, in "
            "the portal's zone and with no offset: harder than ISO 8601, which names its offset",
            "main lib/type/datetime.php (site format); tasks lib/rest/controllers/task.php (formatDateFieldsForOutput)"),
    Reading("chat_history_for_new_members", ("hidden", "visible"), "hidden",
            "a member added to a task chat later sees nothing before the point where they were added (the "
            "relation's START_ID); chats that show history to new members see it all",
            "im lib/chat.php (Chat::getMessages, RELATION_START_ID)"),
    Reading("history_default_order", ("asc", "desc"), "asc",
            "the docs say newest first; the source orders by CREATED_DATE ascending: a client that trusts the docs "
            "breaks on the source's order",
            "tasks lib/rest/controllers/task/history.php; classes/general/tasklog.php"),
    Reading("deadline_history_values", ("mixed", "unix"), "mixed",
            "the source writes DEADLINE history values as unix timestamps; doc samples show ISO dates. mixed: "
            "unix on even task ids, ISO on odd ones, so a client must parse both",
            "tasks classes/general/tasklog.php (DEADLINE as integer)"),
    Reading("status_history_rows", ("status_and_real_status", "status"), "status_and_real_status",
            "a status change writes a STATUS row; some portals also write a REAL_STATUS row with the same values, "
            "so one change can come back as two rows",
            "tasks classes/general/tasklog.php (tracked fields STATUS, REAL_STATUS)"),
    Reading("chat_for_switched_task", ("on_get", "on_open"), "on_get",
            "after the switch to the new card, a task created before it gets its chat lazily: the task provider "
            "creates it on the first tasks.task.get (reading CHAT_ID writes a chat and its system notices), or only "
            "when a person opens the task",
            "tasks lib/V2/Internal/Service/.../TaskProvider (createChatForExistingTask); lib/V2/FormV2Feature.php"),
)}

ReadingsSpec = Union[None, Mapping[str, str], Iterable[str]]


def alternatives() -> list[tuple[str, str]]:
    """Each non-default alternative as (reading name, value): one portal per pair in a parametrised test."""
    return [(r.name, v) for r in READINGS.values() for v in r.alternatives]


def defaults() -> dict[str, str]:
    return {r.name: r.default for r in READINGS.values()}


def _lookup(name: str) -> Reading:
    reading = READINGS.get(name)
    if reading is None:
        raise ValueError(f"unknown reading {name!r}; known readings: {', '.join(sorted(READINGS))}")
    return reading


def _check(reading: Reading, value: str) -> str:
    if value not in reading.values:
        raise ValueError(f"reading {reading.name} takes one of {', '.join(reading.values)}, not {value!r}")
    return value


def parse_one(text: str) -> tuple[str, str]:
    """'NAME=VALUE' or a bare 'NAME' (its single non-default alternative), as --reading takes them."""
    name, sep, value = text.partition("=")
    reading = _lookup(name.strip())
    if sep:
        return reading.name, _check(reading, value.strip())
    if len(reading.alternatives) != 1:
        raise ValueError(f"reading {reading.name} has several alternatives; name one: {reading.name}=VALUE")
    return reading.name, reading.alternatives[0]


def resolve(spec: ReadingsSpec) -> dict[str, str]:
    """Every reading's value: the defaults, overridden by a mapping or by an iterable of 'NAME[=VALUE]'."""
    chosen = defaults()
    if spec is None:
        return chosen
    if isinstance(spec, Mapping):
        for name, value in spec.items():
            chosen[name] = _check(_lookup(name), str(value))
        return chosen
    if isinstance(spec, str):
        spec = [spec]
    for item in spec:
        name, value = parse_one(item)
        chosen[name] = value
    return chosen
