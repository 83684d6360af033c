"""`b24mirror demo`: the whole story on the bundled fake portal, in under a minute.

Starts the demo project on 127.0.0.1, writes a throwaway config, syncs once (a baseline),
lets people work (comments, a closed subtask, a moved deadline, an outsider's comment, an
internal note), syncs again and prints the master task as a manager would read it; then the
manager's view: a digest, the checklist, a subtask's result and the daily status report; last, two
audiences of one project side by side (the master, and a customer's task with stricter rules).
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Callable

from b24mirror.app import run_sync
from b24mirror.config.load import load_config
from b24mirror.fakeportal import serve
from b24mirror.fakeportal.demo import build_demo_portal
from b24mirror.policy.models import find_markers
from b24mirror.cli.demo_audiences import two_audiences
from b24mirror.cli.demo_report import results_and_report
from b24mirror.cli.summary import NOT_RULES, summary_line
from b24mirror.sync import SyncOptions

CONFIG = """\
portal:
  webhook: "{webhook}"
state_file: state.json
language: {language}
groups:
  - id: {group}
    master_task: {master}
    depth: 2
    rules:
      events: [status, deadline, subtask]
"""


def plain(bbcode: str) -> str:
    """Mirror text as a person sees it in the task: tags gone, quotes indented."""
    text = re.sub(r"\s*\[QUOTE\]", "\n    │ ", bbcode, flags=re.I)
    text = re.sub(r"\[/QUOTE\]", "", text, flags=re.I)
    text = re.sub(r"\[/?[A-Za-z]+(=[^\]]*)?\]", "", text)
    text = text.replace("\u200b", "")
    lines = []
    for line in text.splitlines():
        lines.append(line if not line.startswith("    │ ") else line)
    return "\n".join(lines).replace("\n    │ \n", "\n").strip()


def run_demo(language: str = "en", echo: Callable[[str], None] = print) -> int:
    portal, info = build_demo_portal(seed=7)
    server = serve(portal, port=0)
    try:
        me, secret = info["user_id"], info["secret"]
        group, master = info["group_id"], info["master_task_id"]
        with tempfile.TemporaryDirectory(prefix="b24mirror-demo-") as folder:
            path = Path(folder) / "b24mirror.yaml"
            base = CONFIG.format(webhook=server.webhook_url(me, secret), language=language, group=group,
                                 master=master)
            path.write_text(base)
            config = load_config(path)
            echo(f"Fake portal at {server.base_url}; project group {group}, master task {master}.")
            echo(f"Config written to {path} (webhook {config.masked_webhook}).\n")

            first = run_sync(config, SyncOptions())
            echo("1. First sync: " + summary_line(first[0]))

            portal.advance(300)  # five minutes until the next cron run
            echo("2. Meanwhile, in the subtasks: " + "; ".join(_make_activity(portal, info)) + ".\n")
            portal.advance(300)

            before = {c["id"] for c in portal.comments(master)}
            second = run_sync(config, SyncOptions())
            echo("3. Second sync: " + summary_line(second[0]) + "\n")

            echo(f"The master task #{master} now reads (new comments only):\n")
            for comment in portal.comments(master):
                if comment["id"] in before or comment["author_id"] != me or not find_markers(comment["text"]):
                    continue
                echo("  " + plain(comment["text"]).replace("\n", "\n  ") + "\n")
            skipped = {k: v for k, v in second[0].skipped.items() if k not in NOT_RULES}
            reasons = ", ".join(f"{n} × {reason}" for reason, n in sorted(skipped.items())) or "nothing"
            echo(f"Kept out of the master, and why: {reasons}.")
            third = _manager_view(portal, info, path, language, echo)
            third += results_and_report(portal, info, path, plain, echo)
            portal.advance(300)
            again = run_sync(config, SyncOptions())
            echo("8. The next cron run, with nothing new in the subtasks: " + summary_line(again[0]) + ".")
            third += two_audiences(portal, info, path, base, plain, echo)
            echo("\nThis portal and its config vanish now; each demo starts afresh. "
                 "Point a config at your portal (`b24mirror init`) to do it for real.")
        return 0 if all(r.ok for r in first + second + third + again) else 1
    finally:
        server.shutdown()


MANAGER_KEYS = """\
    digest: {every: 1h, now: [completed]}
    checklist: true
"""


def _manager_view(portal, info, path: Path, language: str, echo: Callable[[str], None]) -> list:
    """Part two: the same project with a digest (one comment an hour, closings at once) and the master's
    checklist kept by b24mirror, as the manager sees them."""
    master, me = info["master_task_id"], info["user_id"]
    path.write_text(path.read_text() + MANAGER_KEYS)
    config = load_config(path)
    echo("\n4. Now with `digest: {every: 1h, now: [completed]}` and `checklist: true`.")
    reports = run_sync(config, SyncOptions())
    echo("   After a sync, b24mirror keeps one item per first-level subtask; the master's checklist:\n"
         + _checklist(portal, master))
    level1 = sorted(t.id for t in portal.tasks.values()  # open classic subtasks the robot can read
                    if t.parent_id == master and not t.new_card and t.status != 5)
    members = sorted(uid for uid in portal.groups[info["group_id"]].members
                     if uid != me and portal.users[uid].active and not portal.users[uid].extranet)
    portal.advance(300)
    for task in level1[:3]:
        portal.add_comment(task, members[1], f"Progress note on task {task}.")
        portal.advance(60)
    portal.set_status(level1[2], 5, by=members[1])
    portal.advance(300)
    before = {c["id"] for c in portal.comments(master)}
    checklist_before = _checklist(portal, master).splitlines()
    reports += run_sync(config, SyncOptions())
    echo(f"5. Three notes and task {level1[2]} closed; next sync: " + summary_line(reports[-1]))
    changed = [line for line in _checklist(portal, master).splitlines() if line not in checklist_before]
    echo("   The closing went out at once; the notes wait for the hourly digest. In the checklist:\n"
         + "\n".join(changed))
    portal.advance(3600)
    reports += run_sync(config, SyncOptions())
    echo("6. An hour later: " + summary_line(reports[-1]) + ". The master reads (new comments):\n")
    for comment in portal.comments(master):
        if comment["id"] not in before and comment["author_id"] == me:
            echo("  " + plain(comment["text"]).replace("\n", "\n  ") + "\n")
    return reports


def _checklist(portal, master: int) -> str:
    items = sorted((i for i in portal.checklist.values() if i.task_id == master and i.parent_id),
                   key=lambda i: (i.sort_index, i.id))
    return "\n".join(f"     [{'x' if i.complete else ' '}] {i.title}" for i in items) or "     (empty)"


def _make_activity(portal, info) -> list[str]:
    """People at work between two cron runs, played by the demo portal's cast."""
    group, master, me = info["group_id"], info["master_task_id"], info["user_id"]
    level1 = sorted(t.id for t in portal.tasks.values() if t.parent_id == master and not t.new_card)
    members = sorted(uid for uid, user in portal.users.items()
                     if uid in portal.groups[group].members and uid != me and user.active and not user.extranet)
    outsider = min(uid for uid, user in portal.users.items() if uid not in portal.groups[group].members)
    first, second = level1[0], level1[1]
    author, other = members[1], members[2]
    portal.add_comment(first, author, "Чертежи согласованы с заказчиком, передаю в работу.")
    portal.add_comment(second, other, "Supplier confirmed delivery of the servers for Monday.")
    portal.add_comment(second, author, "#internal our margin on the servers is 18%, do not tell the customer")
    portal.add_comment(first, outsider, "I am not in this project, but here is my opinion anyway.")
    portal.set_status(second, 5, by=other)
    portal.set_deadline(first, portal.now_ts() + 9 * 86400, by=author)
    return ["two comments (RU and EN)", "an #internal note", "a comment by someone outside the group",
            f"task {second} closed", f"task {first}'s deadline moved"]
