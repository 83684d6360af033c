"""Part four of `b24mirror demo`: two audiences of one project side by side, the internal head reading the
master and the customer's curator reading a task in an extranet group, with stricter rules."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from b24mirror.app import run_sync
from b24mirror.config.load import load_config
from b24mirror.fakeportal.demo import add_customer_room
from b24mirror.sync import SyncOptions

TARGETS = """\
    targets:
      - {{task: {master}, name: internal}}
      - {{task: {customer}, name: customer, rules: {{hide: ["^#internal", "(?i)price"]}}}}
"""


def two_audiences(portal, info, path: Path, base: str, show: Callable[[str], str],
                  echo: Callable[[str], None]) -> list:
    master, me = info["master_task_id"], info["user_id"]
    customer = add_customer_room(portal, info)
    path.write_text(base + TARGETS.format(master=master, customer=customer))
    config = load_config(path)
    echo(f"\n9. Two audiences: `targets:` sends the project to the master (internal) and to task {customer} in "
         "an extranet group (the customer's curator), which also hides anything that mentions a price.")
    reports = run_sync(config, SyncOptions())  # the customer's target starts here: nothing older reaches it
    subtask = min(t.id for t in portal.tasks.values() if t.parent_id == master and not t.new_card)
    author = min(uid for uid in portal.groups[info["group_id"]].members
                 if uid != me and portal.users[uid].active and not portal.users[uid].extranet)
    portal.advance(300)
    portal.add_comment(subtask, author, "Staging is ready for the customer's review on Thursday.")
    portal.add_comment(subtask, author, "Price of the extra licences: 1 200 €, finance approves today.")
    portal.add_comment(subtask, author, "#internal the vendor is late again, keep an eye on it")
    portal.advance(300)
    before = {task: {c["id"] for c in portal.comments(task)} for task in (master, customer)}
    reports += run_sync(config, SyncOptions())
    for task, who in ((master, "internal, the master"), (customer, "customer")):
        echo(f"   Task {task} ({who}) received:\n")
        for comment in portal.comments(task):
            if comment["id"] not in before[task] and comment["author_id"] == me:
                echo("  " + show(comment["text"]).replace("\n", "\n  ") + "\n")
    return reports
