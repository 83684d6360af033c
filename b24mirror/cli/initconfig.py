"""`b24mirror init`: write a commented configuration, the webhook and the groups filled in.

The text is the one of config.example.yaml (a test keeps the two equal), so `pip install .` users,
who get no copy of the repository, get the same commented file.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from b24mirror.config.load import ConfigError, validate

PLACEHOLDER_WEBHOOK = "https://example.bitrix24.ru/rest/1/SECRET/"
EXAMPLE_GROUPS = ((42, 1001),)
DEFAULT_STATE_FILE = "b24mirror-state.json"
GROUP_RE = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")

HEAD = """# b24mirror configuration. Copy to b24mirror.yaml (or point --config / $B24MIRROR_CONFIG at it).
# Every key is listed here with its default; only portal.webhook and groups are required.

portal:
  # The inbound webhook (Developer resources -> Other -> Inbound webhook) with the scopes
  # task, sonet_group, user and im. It acts as the user who created it: that user's name
  # appears on the mirrors. $B24MIRROR_WEBHOOK overrides this key.
  webhook: {webhook}
  # Or keep the URL out of this file: a file holding only the URL, mode 0600.
  # webhook_file: /etc/b24mirror/webhook
  plan: standard          # standard (burst 50, 2 req/s) or enterprise (burst 250, 5 req/s)
  # burst: 50             # override the plan's burst
  # per_second: 2.0       # override the plan's drain rate
  connect_timeout: 5      # seconds
  read_timeout: 30        # seconds
  run_deadline: 240       # a run stops starting new work after this many seconds

# Cursors and the ledger of posted mirrors. A relative path is relative to this file.
state_file: b24mirror-state.json

language: ru              # ru or en: the words b24mirror adds (labels, status names)
sweep_every: 12           # every N runs a group's tasks are all re-read (12 x 5 min = hourly)
# A Prometheus textfile written after each sync, for node_exporter's textfile collector (sync --metrics-file).
# metrics_file: /var/lib/node_exporter/textfile_collector/b24mirror.prom

groups:
"""
GROUP_KEYS = """    depth: 2              # subtask levels under the master that are mirrored: 1 or 2
    # language: en        # per-group override of the top-level language
    comments: auto        # auto (per task: a task chat means the new card), classic or chat
    auto_observe: false   # add the webhook user as an observer of subtasks whose chat it cannot read
    on_edit: ignore       # ignore, or update the mirror when a chat message is edited
    on_delete: ignore     # ignore, or mark the mirror when a chat message is deleted
    max_posts: 100        # at most this many posts per run for this group (sync --max-posts overrides)
    backfill: false       # true: on the first sync also mirror what happened before it
    max_chars: 2000       # longer comments are cut, with a link to the original
    # digest:             # hold new items and post one comment per period (grouped by subtask)
    #   every: 1h         # 30m, 1h, 1d, or times of day in the portal's zone: ["09:00", "14:00"]
    #   now: [completed]  # kinds still posted at once (status, completed, deadline, subtask, responsible, title, comment, all)
    # checklist: false    # true: one master checklist item per first-level subtask, ticked when it is completed
    # report:             # a status report in the master once per period: progress, completed, overdue,
    #   every: 1w         # moved deadlines, new subtasks, coming deadlines; or every: ["Mon 09:00"] (portal's zone)
    rules:
      exclude_extranet: false     # true: comments of extranet users stay out even when they are group members
      include_authors: []         # when not empty, only these user ids are mirrored
      exclude_authors: []         # these user ids are never mirrored
      hide: ['^#internal']        # a comment matching any of these is not mirrored; the default hides a line
                                  # starting #internal, quoted or not; a list you set replaces it, [] hides nothing
      redact: []                  # parts matching these patterns are replaced by [скрыто]/[redacted]
      events: [status, deadline, subtask]   # also available: responsible, title
      comments: true              # false: mirror events only
    # targets:            # several audiences of this subtree, each with its own language, rules, digest,
    #   - {task: 1001, name: internal}   # checklist and report over the keys above; the master only if listed
    #   - {task: 900, name: customer, rules: {hide: ['^#internal', '(?i)price']}}
"""


def parse_group(text: str) -> tuple[int, int]:
    """`42:1001` -> (42, 1001): a workgroup id and its master task id."""
    match = GROUP_RE.match(text)
    if not match or not all(int(n) > 0 for n in match.groups()):
        raise ValueError(f"{text!r} is not ID:MASTER (the group id and its master task id, e.g. 42:1001)")
    return int(match.group(1)), int(match.group(2))


def render(webhook: str | None = None, groups=(), state_file: str | None = None) -> str:
    # A given URL or path is quoted (a JSON string is a YAML string): nothing in it can change the file's meaning.
    text = HEAD.replace("{webhook}", json.dumps(webhook.strip()) if webhook else PLACEHOLDER_WEBHOOK)
    if state_file:
        text = text.replace(f"state_file: {DEFAULT_STATE_FILE}\n", f"state_file: {json.dumps(state_file)}\n")
    for gid, master in groups or EXAMPLE_GROUPS:
        text += f"  - {f'id: {gid}':<22}# workgroup id (from /workgroups/group/{gid}/)\n"
        text += f"    {f'master_task: {master}':<22}# master task id\n"
        text += GROUP_KEYS
    return text


def write_config(path: str | os.PathLike, *, webhook: str | None = None, groups=(),
                 state_file: str | None = None) -> Path:
    """Create the file, mode 0600 (it holds the webhook's secret); refuse to replace an existing one."""
    path = Path(path)
    rendered = render(webhook, groups, state_file)
    try:  # what init writes must load: a bad --webhook is said now, not at the first sync
        validate(yaml.safe_load(rendered), base_dir=path.resolve().parent, environ={})
    except ConfigError as exc:
        raise InitRefused(f"nothing was written: {exc}") from None
    text = rendered.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InitRefused(f"{path} exists already; nothing was written (move it away, or pass another PATH)") from None
    except OSError as exc:
        raise InitRefused(f"cannot create {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, text)
    finally:
        os.close(fd)
    return path


class InitRefused(Exception):
    """The configuration file was not written; the message says why."""
