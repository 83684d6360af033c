"""What can be wrong with a state file, each with the way out in its message."""
from __future__ import annotations

REBUILD_HINT = (
    "run `b24mirror sync --rebuild-state` to rebuild it from the master tasks' markers, "
    "or move it away"
)


class StateError(Exception):
    """The state file cannot be used; nothing was done."""


class StateLocked(StateError):
    """Another b24mirror run holds the state file's lock."""


class StateCorrupt(StateError):
    """The state file exists but cannot be read as a b24mirror state."""


class StateTooNew(StateCorrupt):
    """The state file was written by a newer b24mirror (a newer schema version)."""
