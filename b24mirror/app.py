"""What each command does, without the command line: build the client, open the state, run.

The CLI calls one function here per command and renders what it returns.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from b24mirror.bitrix import BitrixClient, ClientStats, RateLimit
from b24mirror.config.load import webhook_secret
from b24mirror.errors import PortalUnreachable, StateUnusable
from b24mirror.ops.doctor.findings import OK
from b24mirror.ops.doctor.host import state_folder_finding
from b24mirror.policy.digest import HeldItem, due_at
from b24mirror.policy.notices import current_notices, due_warnings
from b24mirror.portal import Portal
from b24mirror.config.settings import Config
from b24mirror.state import State, StateCorrupt, StateError, StateTooNew, open_state, read_state, rebuild_empty
from b24mirror.stopping import Stopped
from b24mirror.sync import GroupReport, Syncer, SyncOptions
from b24mirror.sync.decide import QUARANTINE_AFTER, REJECTED
from b24mirror.sync.digest import HELD


def make_client(config: Config, *, with_deadline: bool = True, **timing) -> BitrixClient:
    """The client every command uses, paced under the plan's limits. `timing` (clock, sleep, wall) lets the
    benchmark run the very same client on virtual time."""
    limits = config.limits
    return BitrixClient(
        config.webhook,
        connect_timeout=limits.connect_timeout,
        read_timeout=limits.read_timeout,
        rate=RateLimit(limits.burst, limits.per_second),
        deadline_seconds=limits.run_deadline if with_deadline else None,
        **timing,
    )


@dataclass
class SyncRun:
    """What one sync run did, filled as it goes: a run stopped by a signal still tells what it had done."""

    reports: list[GroupReport] = field(default_factory=list)
    due_warnings: dict[int, list[str]] = field(default_factory=dict)  # per group: the warnings to show now
    last_success: dict[int, str | None] = field(default_factory=dict)
    stats: ClientStats = field(default_factory=ClientStats)
    started: float = field(default_factory=time.monotonic)
    posted: int = 0

    @property
    def duration(self) -> float:
        return time.monotonic() - self.started


def run_sync(config: Config, options: SyncOptions, *, rebuild_state: bool = False, progress=None,
             client: BitrixClient | None = None) -> list[GroupReport]:
    """One sync run over the selected groups, under the state file's lock."""
    run = SyncRun()
    sync_run(config, options, run, rebuild_state=rebuild_state, progress=progress, client=client)
    return run.reports


def sync_run(config: Config, options: SyncOptions, run: SyncRun, *, rebuild_state: bool = False, progress=None,
             client: BitrixClient | None = None) -> SyncRun:
    """`run_sync`, recording into `run` what the sync command prints and writes as metrics."""
    secret = webhook_secret(config.webhook)
    if rebuild_state and not options.dry_run:
        try:
            read_state(config.state_file, secret=secret)
        except StateTooNew:
            raise
        except StateCorrupt:
            # Kept aside for the curious; the ledger comes back from the masters' markers.
            rebuild_empty(config.state_file)
    client = client or make_client(config)
    run.stats = client.stats
    _show_reads(client, progress)
    try:
        with _open_state(config, secret=secret, dry_run=options.dry_run) as state:
            if rebuild_state and not options.dry_run:
                for group in config.groups:
                    # read every marker back, in both worlds of a master switched to the new card
                    state.group(group.id).meta.update(master_seen_id=0, master_seen_forum_id=0)
            before = _ledger_size(state)
            try:
                run.reports = Syncer(config, Portal(client), state, options, progress=progress).run()
            except Stopped as stop:
                stop.posted = _ledger_size(state) - before
                raise
            finally:
                run.posted = _ledger_size(state) - before
                run.last_success = {gid: g.last_success for gid, g in state.groups().items()}
            _settle_notices(state, run, dry_run=options.dry_run, secret=secret)
    finally:
        client.close()
    if run.stats.requests and not run.stats.answered:
        raise PortalUnreachable(config.masked_webhook, run.stats.requests, config.webhook_key)
    return run


def _show_reads(client: BitrixClient, progress) -> None:
    """A long read is one batched call of many requests: the client tells how far it has come, and the
    command's progress (a bar, or a line a minute) shows it as it shows posting."""
    client.read_progress = getattr(progress, "reading", None)


@contextmanager
def _open_state(config: Config, **how):
    """The state under its lock; a folder that cannot hold it is said as `check` says it, with its fix."""
    try:
        with open_state(config.state_file, **how) as state:
            yield state
    except StateError as exc:
        if type(exc) is not StateError:
            raise  # locked, corrupt, too new: their own messages and exit codes
        finding = state_folder_finding(Path(config.state_file))
        if finding.level == OK:
            raise
        raise StateUnusable(f"{finding.subject}: {finding.message}; fix: {finding.fix}") from exc


def _ledger_size(state: State) -> int:
    return sum(len(g.ledger) for g in state.groups().values())


def _settle_notices(state: State, run: SyncRun, *, dry_run: bool, secret: str | None) -> None:
    """Which warnings to show this time: all of them on a dry run, else the new and the day-old ones."""
    if dry_run:
        run.due_warnings = {r.group_id: list(r.warnings) for r in run.reports}
        return
    now = datetime.now(timezone.utc)
    for report in run.reports:
        run.due_warnings[report.group_id] = due_warnings(state.group(report.group_id).meta, report.warnings, now,
                                                         secret)
    state.save()


@dataclass(frozen=True)
class GroupStatus:
    group_id: int
    master_task: int
    last_success: str | None
    ago_seconds: int | None
    cursor: str | None
    mirrors: int
    last_error: dict | None
    synced_before: bool
    notices: tuple[str, ...] = ()  # the warnings of the last run, shown by sync once a day
    quarantined: tuple[dict, ...] = ()  # mirrors the portal refused QUARANTINE_AFTER times: marker, error, at
    pending: int = 0  # tasks left partly done, read again by the next run
    digest_held: int = 0  # items held for the group's next digest
    digest_due: str | None = None  # when that digest is due: ISO 8601 with the portal's offset


    def to_dict(self) -> dict:
        return {
            "group": self.group_id, "master_task": self.master_task, "last_success": self.last_success,
            "ago_seconds": self.ago_seconds, "cursor": self.cursor, "mirrors": self.mirrors,
            "last_error": self.last_error, "synced_before": self.synced_before, "notices": list(self.notices),
            "quarantined": list(self.quarantined), "pending": self.pending,
            "digest": {"held": self.digest_held, "due": self.digest_due},
        }


def group_statuses(config: Config, now: datetime | None = None) -> list[GroupStatus]:
    """Per configured group: what the state file says about its last runs. Reads only."""
    now = now or datetime.now(timezone.utc)
    state = read_state(config.state_file, secret=webhook_secret(config.webhook))
    known = state.groups()
    result = []
    for group in config.groups:
        gstate = known.get(group.id)
        if gstate is None:
            result.append(GroupStatus(group.id, group.master_task, None, None, None, 0, None, False))
            continue
        ago = None
        if gstate.last_success:
            ago = int((now - datetime.fromisoformat(gstate.last_success)).total_seconds())
        result.append(GroupStatus(
            group.id, group.master_task, gstate.last_success, ago, gstate.cursor, len(gstate.ledger),
            gstate.last_error, gstate.baseline is not None, tuple(current_notices(gstate.meta)),
            tuple({"marker": marker, **record} for marker, record in sorted(gstate.meta.get(REJECTED, {}).items())
                  if record.get("count", 0) >= QUARANTINE_AFTER),
            len(gstate.meta.get("pending", [])),
            *_held_digest(group, gstate),
        ))
    return result


def _held_digest(group, gstate) -> tuple[int, str | None]:
    """How many items wait for the group's digest, and when it is due (as the next sync will see it)."""
    held = [HeldItem.from_dict(key, data) for key, data in (gstate.meta.get(HELD) or {}).items()
            if not gstate.has(key)]
    due = due_at(group.digest, held)
    return len(held), due.isoformat() if due else None


def run_audit(config: Config, groups: tuple[int, ...] = (), *, progress=None, client: BitrixClient | None = None):
    """Read-only: nothing is written to the portal or the state file."""
    from b24mirror.ops import audit

    state = read_state(config.state_file, secret=webhook_secret(config.webhook))
    client = client or make_client(config)
    _show_reads(client, progress)
    try:
        return audit.run_audit(config, Portal(client), state, groups)
    finally:
        client.close()


def run_repair(config: Config, groups: tuple[int, ...] = (), *, dry_run: bool = False, progress=None,
               client: BitrixClient | None = None):
    """Fix what `audit` finds, under the state file's lock as a sync runs; a dry run writes nothing."""
    from b24mirror.ops import repair

    client = client or make_client(config)
    _show_reads(client, progress)
    try:
        with _open_state(config, secret=webhook_secret(config.webhook), dry_run=dry_run) as state:
            return repair.run_repair(config, Portal(client), state, groups, dry_run=dry_run, progress=progress)
    finally:
        client.close()
