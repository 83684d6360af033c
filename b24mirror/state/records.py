"""The state in memory: per group cursors, snapshots, the ledger; saved atomically, mode 0600."""
from __future__ import annotations

import copy
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from b24mirror.atomicfile import write_private
from b24mirror.policy.models import Marker
from b24mirror.state.errors import StateError
from b24mirror.state.schema import (_GROUP_FIELDS, SCHEMA_VERSION, _find_secret, _Invalid, _is_int, _marker_key,
                                    _validate)


@dataclass
class GroupState:
    """What b24mirror remembers about one workgroup."""

    group_id: int
    baseline: str | None = None
    cursor: str | None = None
    runs: int = 0
    last_success: str | None = None
    last_error: dict | None = None
    ledger: dict[str, dict] = field(default_factory=dict)
    tasks: dict[str, dict] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    _owner: "State | None" = field(default=None, repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    def has(self, marker: Marker | str) -> bool:
        """Whether this marker's mirror is recorded as posted."""
        return _marker_key(marker) in self.ledger

    def record_post(self, marker: Marker | str, mirror_id: int | None, posted_at: str) -> None:
        """Record a posted mirror and write the state to disk at once.

        Call it right after the portal accepted the post and before posting the next one:
        a crash after this call cannot lead to a second post of the same item.
        """
        key = _marker_key(marker)
        if mirror_id is not None and not _is_int(mirror_id):
            raise TypeError(f"mirror_id must be an int or None, not {type(mirror_id).__name__}")
        if not isinstance(posted_at, str):
            raise TypeError(f"posted_at must be an ISO date string, not {type(posted_at).__name__}")
        self.ledger[key] = {"id": mirror_id, "posted_at": posted_at}
        if self._owner is not None:
            self._owner.save()

    def record_posts(self, entries: list[tuple[Marker | str, int | None, str]]) -> None:
        """Record several mirrors known to exist (one batch of posts, or a read-back) in one write."""
        for marker, mirror_id, posted_at in entries:
            key = _marker_key(marker)
            if mirror_id is not None and not _is_int(mirror_id):
                raise TypeError(f"mirror_id must be an int or None, not {type(mirror_id).__name__}")
            self.ledger[key] = {"id": mirror_id, "posted_at": str(posted_at)}
        if entries and self._owner is not None:
            self._owner.save()

    def forget(self, marker: Marker | str) -> None:
        """Drop a marker from the ledger (in memory; the caller saves)."""
        self.ledger.pop(_marker_key(marker), None)

    def mark_success(self, at: str, cursor: str | None) -> None:
        """A sync of this group finished. Sets last_success, clears last_error, and moves
        the cursor when one is given (None keeps the old cursor). Leaves `runs` alone: the
        sync layer counts runs. Does not save."""
        self.last_success = at
        self.last_error = None
        if cursor is not None:
            self.cursor = cursor

    def mark_error(self, at: str, message: str) -> None:
        """A sync of this group failed. Does not save. The webhook secret, should the
        message quote a URL, is masked here rather than refused: errors carry URLs."""
        secret = self._owner.secret if self._owner is not None else None
        if secret:
            message = message.replace(secret, "***")
        self.last_error = {"at": at, "message": message}

    def to_dict(self) -> dict:
        data = dict(self._extra)
        data.update(
            {
                "baseline": self.baseline,
                "cursor": self.cursor,
                "runs": self.runs,
                "last_success": self.last_success,
                "last_error": self.last_error,
                "ledger": self.ledger,
                "tasks": self.tasks,
                "meta": self.meta,
            }
        )
        return data


class State:
    """The whole state file in memory. Obtain one from `open_state` or `read_state`."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        secret: str | None = None,
        dry_run: bool = False,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.secret = secret or None
        self.dry_run = dry_run
        self.read_only = read_only
        self._groups: dict[int, GroupState] = {}
        self._extra: dict = {}
        self._held = 0  # inside `one_write`: saves wait for its end
        self._owed = False

    @contextmanager
    def one_write(self) -> Iterator[None]:
        """Saves asked for inside the block become one, made when the block ends (failing or not).

        For the records of one request's posts across groups: all of them are on disk before the
        next request is sent, in one write instead of one per group."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held and self._owed:
                self.save()

    def group(self, group_id: int) -> GroupState:
        """The group's state, created empty on first use."""
        if not _is_int(group_id) or group_id <= 0:
            raise ValueError(f"a group id is a positive int, not {group_id!r}")
        existing = self._groups.get(group_id)
        if existing is None:
            existing = self._groups[group_id] = GroupState(group_id, _owner=self)
        return existing

    def groups(self) -> dict[int, GroupState]:
        return dict(self._groups)

    def to_dict(self) -> dict:
        """A deep copy of what `save` writes."""
        return copy.deepcopy(self._document())

    def _document(self) -> dict:
        data = dict(self._extra)
        data["version"] = SCHEMA_VERSION
        data["groups"] = {str(gid): g.to_dict() for gid, g in sorted(self._groups.items())}
        return data

    def save(self) -> None:
        """Write the state atomically, mode 0600. Does nothing in a dry run.

        Raises ValueError, before writing anything, when the state holds something that
        could not be read back (wrong types) or contains the webhook secret.
        """
        if self.dry_run:
            return
        if self.read_only:
            raise StateError(f"state {self.path} was opened read-only (without its lock); it cannot be saved")
        if self._held:
            self._owed = True
            return
        self._owed = False
        document = self._document()
        try:
            _validate(document)
        except _Invalid as exc:
            raise ValueError(f"refusing to write an invalid state to {self.path}: {exc}") from None
        # Compact: written before every request of posts, the file must be quick to write (the C encoder
        # serves only unindented output; a portal of 25,000 tasks writes in a quarter of the time).
        text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
        # JSON escapes character by character: a string holding the secret holds its escaped form in the text.
        if self.secret and json.dumps(self.secret, ensure_ascii=False)[1:-1] in text:
            where = _find_secret(document, self.secret, "")
            if where is not None:
                raise ValueError(
                    f"refusing to write the webhook secret to the state file {self.path} (found in {where})"
                )
        write_private(self.path, text.encode("utf-8"))

    @classmethod
    def _from_document(cls, document: dict, state: "State") -> "State":
        for key, value in document.items():
            if key not in ("version", "groups"):
                state._extra[key] = value
        for gid_text, body in document["groups"].items():
            gid = int(gid_text)
            group = GroupState(gid, _owner=state)
            for key, value in body.items():
                if key in _GROUP_FIELDS:
                    setattr(group, key, value)
                else:
                    group._extra[key] = value
            state._groups[gid] = group
        return state
