"""Engine tests: the real sync engine, in this process, against the fake portal over HTTP.

Worlds here are the size the survivors of a kinder suite needed: more than a page of tasks,
portal clocks that disagree with ours, portals that leave one change signal unmoved.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from b24mirror.app import run_sync
from b24mirror.config.load import load_config
from b24mirror.fakeportal import FakePortal, serve
from b24mirror.policy.models import find_markers
from b24mirror.state import read_state
from b24mirror.sync import SyncOptions


@dataclass
class Project:
    gid: int
    master: int
    tasks: list[int] = field(default_factory=list)


@dataclass
class Bed:
    portal: FakePortal
    server: object
    tmp: Path
    me: int
    anna: int
    secret: str
    projects: list[Project] = field(default_factory=list)
    sweep_every: int = 1000
    portal_keys: dict = field(default_factory=dict)  # more keys under portal:, e.g. run_deadline

    def project(self, name: str, fillers: int = 0, new_card: bool = False) -> Project:
        """A group with a master and one level-1 subtask (the first task), then `fillers` more level-1 tasks.

        The first subtask is the oldest: with fillers after it, it is last in the activity order."""
        p = self.portal
        gid = p.add_group(name, owner_id=self.anna, members=[self.me, self.anna])
        add = lambda title, parent=None: p.add_task(title, created_by=self.anna, group_id=gid, parent_id=parent,
                                                    new_card=new_card, auditors=(self.me,))
        master = add(f"{name}: master")
        project = Project(gid, master, [add(f"{name}: the subtask", master)])
        for i in range(fillers):
            p.advance(1)
            project.tasks.append(add(f"{name}: filler {i}", master))
        self.projects.append(project)
        return project

    def config_path(self, **group_keys) -> Path:
        groups = "\n".join(
            f"  - {{id: {pr.gid}, master_task: {pr.master}, depth: 2, language: en"
            + "".join(f", {k}: {v}" for k, v in group_keys.items()) + "}"
            for pr in self.projects)
        path = self.tmp / "b24mirror.yaml"
        path.write_text(textwrap.dedent(f"""\
            portal:
              webhook: "{self.server.webhook_url(self.me, self.secret)}"
            """) + "".join(f"  {k}: {v}\n" for k, v in self.portal_keys.items()) + textwrap.dedent(f"""\
            state_file: "{self.tmp / 'state.json'}"
            sweep_every: {self.sweep_every}
            groups:
            """) + groups + "\n")
        return path

    def run(self, options: SyncOptions = SyncOptions(), **group_keys):
        """One run, its reports returned whatever they say (a run a test expects to fail)."""
        self.portal.advance(30)
        return run_sync(load_config(self.config_path(**group_keys)), options)

    def sync(self, options: SyncOptions = SyncOptions(), **group_keys):
        reports = self.run(options, **group_keys)
        assert all(r.ok for r in reports), [r.error for r in reports]
        return reports

    def posts(self, project: Project) -> int:
        """Comments our user wrote in the master (one per mirror), the first sync's start note aside."""
        return sum(1 for c in self.portal.comments(project.master)
                   if c["author_id"] == self.me and "b24m:start:" not in c["text"])

    def mirrors(self, project: Project) -> list[str]:
        return [str(m) for c in self.portal.comments(project.master) if c["author_id"] == self.me
                for m in find_markers(c["text"])]

    def mirror_ids(self, project: Project) -> dict[str, int]:
        return {str(m): c["id"] for c in self.portal.comments(project.master) if c["author_id"] == self.me
                for m in find_markers(c["text"])}

    def state(self):
        return read_state(self.tmp / "state.json")


@pytest.fixture
def bed(tmp_path):
    portal = FakePortal(seed=3)
    me = portal.add_user("Mirror", "Robot")
    anna = portal.add_user("Anna", "Petrova")
    server = serve(portal, port=0)
    yield Bed(portal, server, tmp_path, me, anna, portal.add_webhook(me))
    server.shutdown()
