"""What each command does, without the command line: build the client, open the state, run.

The CLI calls one function here per command and renders what it returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from b24mirror.bitrix import BitrixClient, RateLimit
from b24mirror.config import webhook_secret
from b24mirror.portal import Portal
from b24mirror.settings import Config
from b24mirror.state import StateCorrupt, StateTooNew, open_state, read_state, rebuild_empty
from b24mirror.sync import GroupReport, Syncer, SyncOptions


def make_client(config: Config) -> BitrixClient:
    limits = config.limits
    return BitrixClient(
        config.webhook,
        connect_timeout=limits.connect_timeout,
        read_timeout=limits.read_timeout,
        rate=RateLimit(limits.burst, limits.per_second),
        deadline_seconds=limits.run_deadline,
    )


def run_sync(config: Config, options: SyncOptions, *, rebuild_state: bool = False, progress=None,
             client: BitrixClient | None = None) -> list[GroupReport]:
    """One sync run over the selected groups, under the state file's lock."""
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
    try:
        with open_state(config.state_file, secret=secret, dry_run=options.dry_run) as state:
            if rebuild_state and not options.dry_run:
                for group in config.groups:
                    state.group(group.id).meta["master_seen_id"] = 0  # read every marker back
            return Syncer(config, Portal(client), state, options, progress=progress).run()
    finally:
        client.close()


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

    def to_dict(self) -> dict:
        return {
            "group": self.group_id, "master_task": self.master_task, "last_success": self.last_success,
            "ago_seconds": self.ago_seconds, "cursor": self.cursor, "mirrors": self.mirrors,
            "last_error": self.last_error, "synced_before": self.synced_before,
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
            gstate.last_error, gstate.baseline is not None,
        ))
    return result


def run_audit(config: Config, groups: tuple[int, ...] = (), *, client: BitrixClient | None = None):
    """Read-only: nothing is written to the portal or the state file."""
    from b24mirror import audit

    state = read_state(config.state_file, secret=webhook_secret(config.webhook))
    client = client or make_client(config)
    try:
        return audit.run_audit(config, Portal(client), state, groups)
    finally:
        client.close()
