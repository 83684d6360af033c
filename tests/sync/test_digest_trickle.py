"""A digest falls due a period after its oldest held item, whatever keeps arriving after it."""
from __future__ import annotations

from .conftest import Bed


def test_a_steady_trickle_does_not_hold_a_digest_back(bed: Bed):
    """An item every 20 minutes under an hourly digest: the run after the oldest item's hour posts one
    digest; a clock run from the newest item would wait for a quiet hour that never comes."""
    project = bed.project("Trickle")
    target = project.tasks[0]
    digest = "{every: 1h}"
    bed.sync(digest=digest)
    ids = []
    for _ in range(3):
        ids.append(bed.portal.add_comment(target, bed.anna, f"item {len(ids)}"))
        bed.sync(digest=digest)
        assert bed.posts(project) == 0
        bed.portal.advance(20 * 60 - 30)  # each sync moves the clock 30 s
    ids.append(bed.portal.add_comment(target, bed.anna, "one more"))
    bed.sync(digest=digest)  # an hour after the oldest item, 20 minutes after the newest
    assert bed.posts(project) == 1
    assert sorted(bed.mirrors(project)) == sorted(f"b24m:comment:{target}:{cid}" for cid in ids)
