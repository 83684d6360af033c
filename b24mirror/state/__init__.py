"""The state file: per group cursors, task snapshots and the ledger of posted mirrors.

The ledger is what makes "each item exactly once, ever" hold between runs: a marker
(`b24m:KIND:TASK:SOURCE`) goes into it, and onto disk, as soon as its mirror is posted.
The master task's own comments carry the same markers, so a lost or corrupt file can be
rebuilt from them (`b24mirror sync --rebuild-state`); this module never guesses.

On disk: an SQLite database (`store.py`), mode 0600, in WAL mode with every commit fsynced;
each save is one small transaction of the rows that changed, so a crash leaves the last
commit whole and a run's cost follows what it touches, not the size of the history. A JSON
state (version 1) found at the path is migrated on first use and kept as `<path>.v1.json`.

Overlapping cron runs are kept apart by an exclusive, non-blocking ``flock`` on a sidecar
``<state>.lock``: the second run fails at once with `StateLocked` instead of waiting and
then posting what the first one already posted. The kernel drops the lock when its holder
exits, however it exits, so a crashed run leaves no stale lock behind.
"""
from b24mirror.state.errors import REBUILD_HINT, StateCorrupt, StateError, StateLocked, StateTooNew
from b24mirror.state.files import backup_path, open_state, read_state, rebuild_empty, verify
from b24mirror.state.records import GroupState, State
from b24mirror.state.store import SCHEMA_VERSION

__all__ = ["REBUILD_HINT", "backup_path", "SCHEMA_VERSION", "GroupState", "State", "StateCorrupt", "StateError", "StateLocked",
           "StateTooNew", "open_state", "read_state", "rebuild_empty", "verify"]
