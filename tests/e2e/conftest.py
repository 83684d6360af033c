"""A small project in the fake portal, served over HTTP, and a way to run the real command on it.

Tests act as people do (comment, close, move tasks) through the portal's Python API, run
`b24mirror` in a subprocess, and judge by reading the portal's own data.

B24M_TEST_READINGS="date_format=iso,list_chat_id" builds every world under those readings of the platform
(b24mirror/fakeportal/readings.py), a test's own readings on top: `make test-readings` runs the e2e suite
once per non-default alternative.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from b24mirror.fakeportal import FakePortal, serve
from b24mirror.fakeportal.readings import parse_one
from b24mirror.policy.models import find_markers


@dataclass
class World:
    portal: FakePortal
    server: object
    tmp: Path
    me: int
    anna: int
    boris: int
    eve: int  # extranet member
    oscar: int  # not a member
    group: int
    other_group: int
    master: int
    design: int  # level 1
    drawings: int  # level 2, under design
    deep: int  # level 3, under drawings
    loose: int  # in the group, outside the master's subtree
    foreign: int  # in another group
    secret: str
    config_path: Path = None
    extra_group_keys: dict = field(default_factory=dict)

    @property
    def state_path(self) -> Path:
        return self.tmp / "state.json"

    def write_config(self, **group_keys) -> Path:
        keys = {"id": self.group, "master_task": self.master, "depth": 2, "language": "en"}
        keys.update(self.extra_group_keys)
        keys.update(group_keys)
        text = textwrap.dedent(f"""
            portal:
              webhook: "{self.server.webhook_url(self.me, self.secret)}"
              read_timeout: 5
            state_file: "{self.state_path}"
            groups:
              - {json.dumps(keys)}
        """)
        self.config_path = self.tmp / "b24mirror.yaml"
        self.config_path.write_text(text)
        return self.config_path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        if self.config_path is None:
            self.write_config()
        # Time passes between cron runs; without it every event of a test shares one second.
        self.portal.advance(30)
        result = subprocess.run(
            [sys.executable, "-m", "b24mirror", "--config", str(self.config_path), *args],
            capture_output=True, text=True, timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
        return result

    def start(self, *args: str) -> subprocess.Popen:
        if self.config_path is None:
            self.write_config()
        self.portal.advance(30)
        return subprocess.Popen(
            [sys.executable, "-m", "b24mirror", "--config", str(self.config_path), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def mirrors(self, task_id: int | None = None) -> list[str]:
        """Marker strings of the mirrors in the master, one per mirror comment, as the portal holds them."""
        found = []
        for comment in self.portal.comments(task_id or self.master):
            if comment["author_id"] == self.me and not comment.get("deleted"):
                found.extend(str(m) for m in find_markers(comment["text"]))
        return found

    def talk(self, task_id: int, source_id: int) -> str:
        """The marker of a task's comment as b24mirror writes it: `comment` for a forum comment, `message` for a
        message of the task's chat."""
        task = self.portal.tasks[task_id]
        forum = not task.new_card or self.portal.find_comment(task, source_id) is not None
        return f"b24m:{'comment' if forum else 'message'}:{task_id}:{source_id}"

    @staticmethod
    def mirrors_in(text: str) -> list[str]:
        return [str(m) for m in find_markers(text)]

    def mirror_texts(self) -> list[str]:
        """Texts of our comments in the master but the first sync's start note (tests/e2e/test_start_note.py)."""
        return [c["text"] for c in self.portal.comments(self.master)
                if c["author_id"] == self.me and "b24m:start:" not in c["text"]]


EXIT_OF_STOP = {"SIGINT": 130, "SIGTERM": 143, "SIGKILL": -signal.SIGKILL}


def stop_while_held(w: World, proc: subprocess.Popen, hold, stop: str) -> str:
    """Send the signal named `stop` while the portal holds the run's request, then let the portal answer.
    No timing: the portal says when the request is held. Returns the run's stderr."""
    assert hold.reached.wait(timeout=60), "the run never reached the held request"
    proc.send_signal(getattr(signal, stop))
    w.portal.faults.release()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_OF_STOP[stop], (proc.returncode, err)
    w.portal.faults.clear()
    return err


READINGS_ENV = "B24M_TEST_READINGS"


def _named(readings) -> dict[str, str]:
    """Only the readings a spec names (not every default, as readings.resolve gives): they go on top."""
    if readings is None:
        return {}
    if isinstance(readings, dict):
        return {name: str(value) for name, value in readings.items()}
    return dict(parse_one(item) for item in ([readings] if isinstance(readings, str) else readings))


def world_readings(readings=None) -> dict[str, str] | None:
    """The environment's readings for every world, a test's own winning where both name one."""
    chosen = _named([item for item in os.environ.get(READINGS_ENV, "").split(",") if item.strip()])
    chosen.update(_named(readings))
    return chosen or None


def build_world(tmp_path: Path, *, new_card: bool = False, master_new_card: bool | None = None,
                readings=None) -> World:
    portal = FakePortal(seed=1, readings=world_readings(readings))
    me = portal.add_user("Mirror", "Robot")
    anna = portal.add_user("Anna", "Petrova")
    boris = portal.add_user("Boris", "Ivanov")
    eve = portal.add_user("Eve", "Contractor", extranet=True)
    oscar = portal.add_user("Oscar", "Outsider")
    secret = portal.add_webhook(me)
    group = portal.add_group("Bridge repair", owner_id=anna, members=[me, anna, boris, eve])
    other = portal.add_group("Other project", owner_id=oscar, members=[me, oscar, anna])
    card = new_card if master_new_card is None else master_new_card

    def add(title, parent=None, gid=group, chat=new_card):
        return portal.add_task(title, created_by=anna, responsible_id=boris, group_id=gid, parent_id=parent,
                               new_card=chat, auditors=(me,))

    master = add("Bridge repair: master", chat=card)
    design = add("Design", master)
    drawings = add("Drawings", design)
    deep = add("Rebar schedule", drawings)
    loose = add("Loose task")
    foreign = add("Foreign task", gid=other)
    server = serve(portal, port=0)
    return World(portal, server, tmp_path, me, anna, boris, eve, oscar, group, other, master, design, drawings,
                 deep, loose, foreign, secret)


@pytest.fixture
def world(tmp_path):
    w = build_world(tmp_path)
    yield w
    w.server.shutdown()


@pytest.fixture
def chat_world(tmp_path):
    w = build_world(tmp_path, new_card=True)
    yield w
    w.server.shutdown()


@pytest.fixture(params=["classic", "chat"])
def any_world(request, tmp_path):
    """The small project in either comment world."""
    w = build_world(tmp_path, new_card=request.param == "chat")
    yield w
    w.server.shutdown()


@pytest.fixture
def world_of(tmp_path):
    """The small project in the world a parametrised case names: `world_of("chat")` or `world_of("classic")`."""
    built = []
    yield lambda card: built.append(build_world(tmp_path, new_card=card == "chat")) or built[-1]
    for w in built:
        w.server.shutdown()
