"""`b24mirror demo`: the whole story on the bundled fake portal, in under a minute.

Starts the demo project on 127.0.0.1, writes a throwaway config, syncs once (a baseline),
lets people work (comments, a closed subtask, a moved deadline, an outsider's comment, an
internal note), syncs again and prints the master task as a manager would read it.
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Callable

from b24mirror.app import run_sync
from b24mirror.config import load_config
from b24mirror.fakeportal import serve
from b24mirror.fakeportal.demo import build_demo_portal
from b24mirror.models import find_markers
from b24mirror.report import NOT_RULES, summary_line
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
      hide: ['^#internal']
      events: [status, deadline, subtask]
"""


def _info(info, *names):
    for name in names:
        if isinstance(info, dict) and name in info:
            return info[name]
        if hasattr(info, name):
            return getattr(info, name)
    raise KeyError(names[0])


def plain(bbcode: str) -> str:
    """Mirror text as a person sees it in the task: tags gone, quotes indented."""
    text = re.sub(r"\[QUOTE\]", "\n    │ ", bbcode, flags=re.I)
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
        me = _info(info, "webhook_user_id", "user_id", "me")
        secret = _info(info, "secret", "webhook_secret")
        group = _info(info, "group_id", "group")
        master = _info(info, "master_task_id", "master_task", "master")
        with tempfile.TemporaryDirectory(prefix="b24mirror-demo-") as folder:
            path = Path(folder) / "b24mirror.yaml"
            path.write_text(CONFIG.format(webhook=server.webhook_url(me, secret), language=language,
                                          group=group, master=master))
            config = load_config(path)
            echo(f"Fake portal at {server.base_url}; project group {group}, master task {master}.")
            echo(f"Config written to {path} (webhook {config.masked_webhook}).\n")

            first = run_sync(config, SyncOptions())
            echo("1. First sync: " + summary_line(first[0]))

            kept_out = _make_activity(portal, info, me)
            echo("2. Meanwhile, in the subtasks: " + "; ".join(kept_out["done"]) + ".\n")

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
            echo("Run it again and nothing is posted twice; point a config at your portal to do it for real.")
        return 0 if all(r.ok for r in first + second) else 1
    finally:
        server.shutdown()


def _make_activity(portal, info, me: int) -> dict:
    """People at work between two cron runs, as the demo portal's cast."""
    group = _info(info, "group_id", "group")
    master = _info(info, "master_task_id", "master_task", "master")
    tasks = [t for t in _subtasks(portal, master)]
    level1 = [t for t in tasks if portal.task(t)["parent_id"] == master]
    members = [u for u in _members(portal, group) if u != me]
    first, second = level1[0], level1[1]
    author, other = members[0], members[1]
    outsider = _info(info, "outsider_id", "outsider")
    portal.add_comment(first, author, "Чертежи согласованы с заказчиком, передаю в работу.")
    portal.add_comment(second, other, "Supplier confirmed delivery of the steel beams for Monday.")
    portal.add_comment(second, author, "#internal our margin on the beams is 18%, do not tell the customer")
    portal.add_comment(first, outsider, "I am not in this project, but here is my opinion anyway.")
    portal.set_status(second, 5, by=other)
    portal.set_deadline(first, "2026-12-19T18:00:00+03:00", by=author)
    return {"done": [
        "two comments (RU and EN)", "an #internal note", "a comment by someone outside the group",
        f"task {second} closed", f"task {first}'s deadline moved",
    ]}


def _subtasks(portal, master: int) -> list[int]:
    return sorted(tid for tid in portal.task_ids() if portal.task(tid)["parent_id"] == master)


def _members(portal, group: int) -> list[int]:
    return sorted(portal.group_members(group))
