"""The sync engine, one module per phase (see ARCHITECTURE.md):

    listings.py  which tasks changed          details.py, chats.py  what was read about them
    decide.py    the plan (pure, plan.py)     masters.py            the master's own markers
    apply.py     posting and settling         updates.py            edits to posted mirrors
    commit.py    snapshots and the cursor     engine.py             the order of the phases
"""
from b24mirror.sync.engine import Syncer
from b24mirror.sync.records import GroupFailed, GroupReport, GroupRun, SyncOptions

__all__ = ["GroupFailed", "GroupReport", "GroupRun", "SyncOptions", "Syncer"]
