"""Part three of `b24mirror demo`: a subtask's result, and the status report a day later."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Callable

from b24mirror.app import run_sync
from b24mirror.config.load import load_config
from b24mirror.sync import SyncOptions

REPORT_KEYS = """\
    report: {every: 1d}
"""


def results_and_report(portal, info, path: Path, show: Callable[[str], str], echo: Callable[[str], None]) -> list:
    """A result marked and a day's work done, then the daily status report, as the manager reads them."""
    master, me = info["master_task_id"], info["user_id"]
    path.write_text(path.read_text() + REPORT_KEYS)
    config = load_config(path)
    open_tasks = sorted(t.id for t in portal.tasks.values() if t.parent_id == master and not t.new_card
                        and t.status != 5)
    members = sorted(uid for uid in portal.groups[info["group_id"]].members
                     if uid != me and portal.users[uid].active and not portal.users[uid].extranet)
    today = portal.now().replace(hour=0, minute=0, second=0, microsecond=0)
    portal.advance((today + timedelta(days=1, hours=9) - portal.now()).total_seconds())  # the next morning
    reports = run_sync(config, SyncOptions())
    before = {c["id"] for c in portal.comments(master)}
    portal.add_result(open_tasks[0], members[1], "Acceptance tests passed; the customer signed the report.")
    portal.set_status(open_tasks[0], 5, by=members[1])
    portal.set_deadline(open_tasks[1], portal.now_ts() + 5 * 86400, by=members[0])
    portal.advance(3600)
    reports += run_sync(config, SyncOptions())
    portal.advance((today + timedelta(days=2, minutes=5) - portal.now()).total_seconds())  # past midnight
    reports += run_sync(config, SyncOptions())
    echo(f"\n7. With `report: {{every: 1d}}`: task {open_tasks[0]} gets its result and is closed, task "
         f"{open_tasks[1]}'s deadline moves; after midnight the day's status report is posted. The master reads "
         f"(new comments):\n")
    for comment in portal.comments(master):
        if comment["id"] not in before and comment["author_id"] == me:
            echo("  " + show(comment["text"]).replace("\n", "\n  ") + "\n")
    return reports
