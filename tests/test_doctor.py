"""`b24mirror check` against the fake portal over real HTTP: one test per kind of finding."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import pytest

from b24mirror.bitrix import BitrixClient, mask_url
from b24mirror.ops.doctor import BLOCKER, OK, WARNING, Finding, blocks_sync, render_findings, run_checks
from b24mirror.config.settings import Config, GroupConfig

fakeportal = pytest.importorskip("b24mirror.fakeportal")


@dataclass
class World:
    portal: object
    server: object
    tmp: object
    me: int
    anna: int
    group: int
    other_group: int
    master: int
    secret: str

    def url(self, secret: str | None = None, uid: int | None = None) -> str:
        return self.server.webhook_url(uid or self.me, secret or self.secret)

    def config(self, url: str | None = None, **group_keys) -> Config:
        url = url or self.url()
        keys = {"id": self.group, "master_task": self.master}
        keys.update(group_keys)
        return Config(webhook=url, masked_webhook=mask_url(url), state_file=str(self.tmp / "state.json"),
                      groups=(GroupConfig(**keys),))

    def check(self, config: Config | None = None, *, url: str | None = None, **client_kw) -> list[Finding]:
        config = config or self.config(url)
        client_kw.setdefault("rate", None)
        client_kw.setdefault("read_timeout", 5)
        client_kw.setdefault("max_attempts", 2)
        client = BitrixClient(config.webhook, sleep=lambda s: time.sleep(min(s, 0.01)), **client_kw)
        try:
            return run_checks(config, client)
        finally:
            client.close()

    def with_scopes(self, *scopes: str) -> str:
        return self.url(self.portal.add_webhook(self.me, scopes=scopes))


@pytest.fixture
def world(tmp_path):
    p = fakeportal.FakePortal(seed=3)
    me = p.add_user("Mirror", "Robot")
    anna = p.add_user("Anna", "Petrova")
    secret = p.add_webhook(me, scopes=("task", "sonet_group", "user", "im"))
    group = p.add_group("Bridge", owner_id=anna, members=[me, anna])
    other = p.add_group("Tunnel", owner_id=anna, members=[me, anna])
    master = p.add_task("Bridge: all news", created_by=me, responsible_id=me, group_id=group)
    design = p.add_task("Design", created_by=anna, responsible_id=anna, group_id=group, parent_id=master)
    p.add_task("Drawings", created_by=anna, responsible_id=anna, group_id=group, parent_id=design)
    server = fakeportal.serve(p, port=0)
    try:
        yield World(p, server, tmp_path, me, anna, group, other, master, secret)
    finally:
        server.shutdown()


def levels(findings: list[Finding]) -> dict[str, str]:
    """subject -> the worst level found for it."""
    rank = {OK: 0, WARNING: 1, BLOCKER: 2}
    out: dict[str, str] = {}
    for f in findings:
        if f.subject not in out or rank[f.level] > rank[out[f.subject]]:
            out[f.subject] = f.level
    return out


def problems(findings: list[Finding]) -> dict[str, str]:
    return {s: lvl for s, lvl in levels(findings).items() if lvl != OK}


def only(findings: list[Finding], subject: str) -> Finding:
    found = [f for f in findings if f.subject == subject]
    assert len(found) == 1, (subject, findings)
    return found[0]


# --- all well ------------------------------------------------------------------------------------------------------

def test_all_ok_on_a_classic_portal(world):
    findings = world.check()
    assert problems(findings) == {}, render_findings(findings)
    assert not blocks_sync(findings)
    g, m = world.group, world.master
    assert list(levels(findings)) == ["webhook", "scope task", "scope sonet_group", "scope user", "scope im",
                                      f"group {g}", f"group {g} members", f"master task {m}",
                                      f"master task {m} posting", f"group {g} portal readings",
                                      f"group {g} subtask chats"]
    readings = [f.message for f in findings if f.subject == f"group {g} portal readings"]
    assert readings == ["dates come in the site format (DD.MM.YYYY, the portal's zone): read as such "
                        f"({world.portal.out_date(world.portal.tasks[world.master].created)})",
                        "task lists carry no chatId and none of the 2 subtasks has a chat: classic comments"]
    who = only(findings, "webhook").message
    assert f"user {world.me} (Mirror Robot)" in who and "admin no" in who
    assert all(f.fix == "" for f in findings)


def test_all_ok_with_task_chats_the_user_takes_part_in(world):
    p = world.portal
    master = p.add_task("Chat master", created_by=world.anna, group_id=world.group, new_card=True, auditors=[world.me])
    p.add_task("Chat sub", created_by=world.anna, group_id=world.group, parent_id=master, new_card=True,
               accomplices=[world.me])
    findings = world.check(world.config(master_task=master))
    assert problems(findings) == {}, render_findings(findings)
    assert "chat" in only(findings, f"master task {master} posting").message


def test_admin_is_reported(world):
    boss = world.portal.add_user("Olga", "Admin", admin=True)
    url = world.url(world.portal.add_webhook(boss), uid=boss)
    findings = world.check(url=url)
    who = only(findings, "webhook")
    assert who.level == OK and f"user {boss} (Olga Admin)" in who.message and "admin yes" in who.message


def test_one_batch_and_one_task_list_per_group(world):
    world.portal.reset_stats()
    world.check()
    # The probes in one batch, the group's tasks, then their chats (task lists carry no chatId here).
    assert world.portal.stats.requests == 3


def test_the_readings_of_a_portal_whose_lists_carry_chat_ids(world):
    p = world.portal
    p.readings.update(list_chat_id="present", date_format="iso")
    master = p.add_task("Chat master", created_by=world.anna, group_id=world.group, new_card=True, auditors=[world.me])
    p.add_task("Chat sub", created_by=world.anna, group_id=world.group, parent_id=master, new_card=True,
               accomplices=[world.me])
    p.reset_stats()
    findings = world.check(world.config(master_task=master))
    readings = [f.message for f in findings if f.subject == f"group {world.group} portal readings"]
    assert readings[0].startswith("dates come in ISO 8601") and readings[1:] == [
        "task lists carry chatId: yes; no look-ups needed"]
    assert p.stats.requests == 2
    assert "takes part in all 1 subtask chat" in only(findings, f"group {world.group} subtask chats").message


def test_subtask_chats_found_when_lists_leave_chat_ids_out(world):
    p = world.portal
    master = p.add_task("Chat master", created_by=world.anna, group_id=world.group, new_card=True, auditors=[world.me])
    for n in range(3):
        p.add_task(f"Chat sub {n}", created_by=world.anna, group_id=world.group, parent_id=master, new_card=True)
    findings = world.check(world.config(master_task=master))
    assert "cannot read the chats of 3 subtasks" in only(findings, f"group {world.group} subtask chats").message
    assert ("task lists carry chatId: no; chats are looked up, 1 request per 50 new tasks (here 3 subtasks, "
            "1 request, once per task)") in [f.message for f in findings]


# --- the webhook ---------------------------------------------------------------------------------------------------

def test_wrong_secret_blocks(world):
    findings = world.check(url=world.url("not-the-secret-0000"))
    assert [(f.level, f.subject) for f in findings] == [(BLOCKER, "webhook")]
    assert "secret changes" in findings[0].fix
    assert blocks_sync(findings)


def test_unreachable_portal_blocks(world):
    dead = fakeportal.serve(fakeportal.FakePortal(seed=1), port=0)
    url = dead.webhook_url(world.me, world.secret)
    dead.shutdown()
    findings = world.check(url=url, max_attempts=1, connect_timeout=1)
    assert [(f.level, f.subject) for f in findings] == [(BLOCKER, "webhook")]
    assert "did not answer" in findings[0].message


def test_deactivated_webhook_user_blocks(world):
    world.portal.set_user_active(world.me, False)
    findings = world.check()
    assert levels(findings)["webhook"] == BLOCKER
    assert blocks_sync(findings)


# --- scopes --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scope", ["task", "sonet_group", "user"])
def test_missing_scope_blocks(world, scope):
    granted = [s for s in ("task", "sonet_group", "user", "im") if s != scope]
    findings = world.check(url=world.with_scopes(*granted))
    assert problems(findings) == {f"scope {scope}": BLOCKER}, render_findings(findings)
    assert f"add scope {scope} to the webhook" in only(findings, f"scope {scope}").fix
    assert only(findings, "webhook").level == OK


def test_missing_im_is_a_warning_while_no_task_has_a_chat(world):
    findings = world.check(url=world.with_scopes("task", "sonet_group", "user"))
    assert problems(findings) == {"scope im": WARNING}, render_findings(findings)
    assert not blocks_sync(findings)


def test_missing_im_blocks_when_a_subtask_has_a_chat(world):
    world.portal.add_task("Chat sub", created_by=world.anna, group_id=world.group, parent_id=world.master,
                          new_card=True, auditors=[world.me])
    findings = world.check(url=world.with_scopes("task", "sonet_group", "user"))
    assert problems(findings) == {"scope im": BLOCKER}, render_findings(findings)


def test_missing_im_blocks_when_the_master_has_a_chat(world):
    master = world.portal.add_task("Chat master", created_by=world.me, group_id=world.group, new_card=True)
    url = world.with_scopes("task", "sonet_group", "user")
    findings = world.check(world.config(url, master_task=master))
    assert problems(findings) == {"scope im": BLOCKER}, render_findings(findings)


def test_missing_im_blocks_when_comments_are_read_from_chats(world):
    url = world.with_scopes("task", "sonet_group", "user")
    findings = world.check(world.config(url, comments_source="chat"))
    assert problems(findings) == {"scope im": BLOCKER}, render_findings(findings)


def test_subtask_chats_outside_the_master_do_not_need_im(world):
    p = world.portal
    p.add_task("Loose chat", created_by=world.anna, group_id=world.group, new_card=True)
    design = [t for t in p.tasks.values() if t.title == "Drawings"][0].id
    p.add_task("Too deep", created_by=world.anna, group_id=world.group, parent_id=design, new_card=True)
    findings = world.check(world.config(world.with_scopes("task", "sonet_group", "user"), depth=2))
    assert problems(findings) == {"scope im": WARNING}, render_findings(findings)


# --- groups --------------------------------------------------------------------------------------------------------

def test_missing_group_blocks(world):
    findings = world.check(world.config(id=999))
    found = levels(findings)
    assert found["group 999"] == BLOCKER
    assert f"user {world.me}" in only(findings, "group 999").message
    assert "groups[0].id" in only(findings, "group 999").fix
    assert found[f"master task {world.master}"] == BLOCKER  # it is in another group
    assert "group 999 members" not in found


def test_hidden_group_blocks(world):
    world.portal.groups[world.other_group].visible = False
    world.portal.remove_member(world.other_group, world.me)
    master = world.portal.add_task("Hidden master", created_by=world.anna, group_id=world.other_group)
    findings = world.check(world.config(id=world.other_group, master_task=master))
    found = problems(findings)
    assert found[f"group {world.other_group}"] == BLOCKER
    assert found[f"master task {master}"] == BLOCKER


def test_webhook_user_not_a_member_is_a_warning(world):
    world.portal.remove_member(world.group, world.me)
    findings = world.check()  # the user still sees the master: it created it
    assert problems(findings) == {f"group {world.group} members": WARNING}, render_findings(findings)
    finding = only(findings, f"group {world.group} members")
    assert "can still" in finding.message and f"add user {world.me} to group {world.group}" in finding.fix


# --- the master task -----------------------------------------------------------------------------------------------

def test_missing_master_blocks(world):
    findings = world.check(world.config(master_task=99999))
    assert problems(findings) == {"master task 99999": BLOCKER}, render_findings(findings)
    assert "does not exist or user" in only(findings, "master task 99999").message


def test_master_hidden_from_the_user_blocks(world):
    world.portal.remove_member(world.group, world.me)
    master = world.portal.add_task("Not mine", created_by=world.anna, group_id=world.group)
    findings = world.check(world.config(master_task=master))
    assert problems(findings) == {f"group {world.group} members": WARNING, f"master task {master}": BLOCKER}


def test_master_in_another_group_blocks(world):
    master = world.portal.add_task("Elsewhere", created_by=world.me, group_id=world.other_group)
    findings = world.check(world.config(master_task=master))
    assert problems(findings) == {f"master task {master}": BLOCKER}, render_findings(findings)
    finding = only(findings, f"master task {master}")
    assert f"group {world.other_group}" in finding.message and f"group {world.group}" in finding.message


def test_chat_master_without_the_user_blocks(world):
    master = world.portal.add_task("Chat master", created_by=world.anna, group_id=world.group, new_card=True)
    findings = world.check(world.config(master_task=master))
    assert problems(findings) == {f"master task {master} posting": BLOCKER}, render_findings(findings)
    assert only(findings, f"master task {master} posting").fix == f"add user {world.me} as an observer of task {master}"


# --- the subtasks' chats -------------------------------------------------------------------------------------------

def test_unreadable_subtask_chats_are_one_warning_per_group(world):
    p = world.portal
    ids = [p.add_task(f"Chat {i}", created_by=world.anna, group_id=world.group, parent_id=world.master, new_card=True)
           for i in range(12)]
    p.add_task("Readable", created_by=world.anna, group_id=world.group, parent_id=world.master, new_card=True,
               auditors=[world.me])
    findings = world.check()
    subject = f"group {world.group} subtask chats"
    assert problems(findings) == {subject: WARNING}, render_findings(findings)
    finding = only(findings, subject)
    assert ", ".join(str(i) for i in ids[:10]) in finding.message and "(+2 more)" in finding.message
    assert str(ids[11]) not in finding.message
    assert "auto_observe: true" in finding.fix and f"add user {world.me} as an observer" in finding.fix


def test_unreadable_subtask_chats_with_auto_observe_are_fine(world):
    world.portal.add_task("Chat", created_by=world.anna, group_id=world.group, parent_id=world.master, new_card=True)
    findings = world.check(world.config(auto_observe=True))
    assert problems(findings) == {}, render_findings(findings)


def test_two_groups_are_checked_separately(world):
    p = world.portal
    master2 = p.add_task("Tunnel news", created_by=world.me, group_id=world.other_group)
    p.add_task("Chat", created_by=world.anna, group_id=world.other_group, parent_id=master2, new_card=True)
    base = world.config()
    config = replace(base, groups=base.groups + (GroupConfig(id=world.other_group, master_task=master2),))
    findings = world.check(config)
    assert problems(findings) == {f"group {world.other_group} subtask chats": WARNING}, render_findings(findings)


# --- the report ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["ok", "wrong secret", "missing scope"])
def test_the_report_never_shows_the_secret(world, case):
    url = {"ok": world.url(), "wrong secret": world.url("zz-wrong-secret-zz"),
           "missing scope": world.with_scopes("task")}[case]
    secret = url.rstrip("/").rsplit("/", 1)[1]
    text = render_findings(world.check(url=url))
    assert secret not in text
    assert world.secret not in text
    assert "/***" in text  # the masked webhook is shown instead


def test_render_lists_fixes_under_findings_and_counts():
    findings = [Finding(OK, "webhook", "fine"), Finding(BLOCKER, "group 7", "gone", "check groups[0].id"),
                Finding(WARNING, "scope im", "missing", "add scope im"), Finding(WARNING, "x", "y", "z")]
    lines = render_findings(findings).splitlines()
    assert len(lines) == 4 + 3 + 1
    assert "webhook: fine" in lines[0]
    assert "group 7: gone" in lines[1] and "BLOCKER" in lines[1]
    assert lines[2].startswith(" ") and "fix: check groups[0].id" in lines[2]
    assert lines[-1] == "1 blocker, 2 warnings"
    assert render_findings([]).splitlines() == ["0 blockers, 0 warnings"]
    assert blocks_sync(findings) and not blocks_sync(findings[2:])
