"""The state file: per group cursors, task snapshots and the ledger of posted mirrors.

The ledger is what makes "each item exactly once, ever" hold between runs: a marker
(`b24m:KIND:TASK:SOURCE`) goes into it, and onto disk, as soon as its mirror is posted.
The master task's own comments carry the same markers, so a lost or corrupt file can be
rebuilt from them (`b24mirror sync --rebuild-state`); this module never guesses.

On disk: one JSON object, ``{"version": 1, "groups": {"42": {...}}}``, mode 0600,
replaced atomically (temp file in the same directory, fsync, rename, fsync of the
directory), so a crash leaves either the old file or the new one, never half of one.

Overlapping cron runs are kept apart by an exclusive, non-blocking ``flock`` on a sidecar
``<state>.lock``: the second run fails at once with `StateLocked` instead of waiting and
then posting what the first one already posted. The kernel drops the lock when its holder
exits, however it exits, so a crashed run leaves no stale lock behind.
"""
from b24mirror.state.errors import REBUILD_HINT, StateCorrupt, StateError, StateLocked, StateTooNew
from b24mirror.state.files import open_state, read_state, rebuild_empty
from b24mirror.state.records import GroupState, State
from b24mirror.state.schema import SCHEMA_VERSION

__all__ = ["REBUILD_HINT", "SCHEMA_VERSION", "GroupState", "State", "StateCorrupt", "StateError", "StateLocked",
           "StateTooNew", "open_state", "read_state", "rebuild_empty"]
