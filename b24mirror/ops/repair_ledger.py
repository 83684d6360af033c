"""What repair leaves in the ledger: the mirror that stands for each marker, after a repair or a stopped one."""
from __future__ import annotations

from b24mirror.policy.markers import old_form
from b24mirror.policy.models import Marker
from b24mirror.state import GroupState
from b24mirror.sync.common import local_now


def follow_present(gstate: GroupState, present: dict[Marker, list[int]]) -> bool:
    """The ledger names the mirror that stands. A repair killed (SIGKILL) after its repost landed and before
    it was recorded left the deleted mirror's id, and edits would be sent to a comment that is gone."""
    changed = False
    for marker, ids in present.items():
        entry = gstate.ledger.get(str(marker)) if ids else None
        if entry is not None and entry.get("id") not in ids:
            gstate.ledger[str(marker)], changed = {**entry, "id": ids[0]}, True
    return changed


def settle_ledger(gstate: GroupState, deleted: set[Marker], standing: dict[Marker, list[int]]) -> bool:
    """A deleted leak leaves the ledger; a duplicate's entry names the mirror that stayed."""
    changed = False
    for marker in deleted:
        ids = standing.get(marker)
        entry = gstate.ledger.get(str(marker))
        if not ids:
            gstate.forget(marker)
            old = old_form(marker)  # audit read a chat message's mirror under the old form as the message's
            if old is not None and not standing.get(old):
                gstate.forget(old)
        elif entry is None or entry.get("id") != ids[0]:
            gstate.ledger[str(marker)] = {"id": ids[0], "posted_at": (entry or {}).get("posted_at") or local_now()}
        else:
            continue
        changed = True
    return changed
