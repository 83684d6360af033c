"""Several audiences: one source subtree, two target tasks with their own rules, each exactly once.

The internal head reads the master itself; the customer's curator reads a task in another group with
stricter rules. Judged by the comments each target task holds in the fake portal."""
import json
from collections import Counter

import pytest

pytestmark = pytest.mark.e2e

STRICT = {"hide": ["^#internal", "(?i)price"]}


def _customer_task(world) -> int:
    """A task in another group, in the master's comment world, that the robot observes."""
    return world.portal.add_task("Bridge repair: for the customer", created_by=world.anna, responsible_id=world.anna,
                                 group_id=world.other_group, new_card=world.portal.tasks[world.master].new_card,
                                 auditors=(world.me,))


def _two_targets(world) -> int:
    customer = _customer_task(world)
    world.write_config(targets=[{"task": world.master, "name": "internal"},
                                {"task": customer, "name": "customer", "rules": STRICT}])
    return customer


def _forget_state(world) -> None:
    for suffix in ("", "-wal", "-shm"):
        world.state_path.with_name(world.state_path.name + suffix).unlink(missing_ok=True)


def test_each_target_gets_what_its_rules_let_through_once_also_after_a_lost_state(any_world):
    w, p = any_world, any_world.portal
    customer = _two_targets(w)
    w.run("sync")
    plain = p.add_comment(w.design, w.anna, "the drawings are approved")
    priced = p.add_comment(w.drawings, w.boris, "the Price goes up by 10%")
    hidden = p.add_comment(w.design, w.anna, "#internal the customer must not read this")
    w.run("sync")
    w.run("sync")
    first = {m: w.talk(t, c) for m, t, c in
             (("plain", w.design, plain), ("priced", w.drawings, priced), ("hidden", w.design, hidden))}
    assert Counter(w.mirrors(w.master)) == Counter([first["plain"], first["priced"]])
    assert w.mirrors(customer) == [first["plain"]]
    assert not any("Price" in c["text"] for c in p.comments(customer))

    _forget_state(w)
    later = p.add_comment(w.drawings, w.anna, "poured the first span")
    w.run("sync")
    w.run("sync")
    again = w.talk(w.drawings, later)
    assert Counter(w.mirrors(w.master)) == Counter([first["plain"], first["priced"], again])
    assert Counter(w.mirrors(customer)) == Counter([first["plain"], again])

    audit = w.run("audit")  # exit 0: both targets hold what their rules let through, nothing else
    assert f'group {w.group} → task {w.master} "internal" (master {w.master}): 3 mirrors' in audit.stdout
    assert f'group {w.group} → task {customer} "customer" (master {w.master}): 2 mirrors' in audit.stdout
    status = json.loads(w.run("status", "--json").stdout)["groups"]
    assert [(s["target"], s["mirrors"]) for s in status] == [(w.master, 3), (customer, 2)]


def _posts_to(world, task_id: int) -> tuple[str, str]:
    """(method, text in its parameters) of a post into this task, in its world."""
    chat = world.portal.tasks[task_id].chat_id
    return ("im.message.add", f"'chat{chat}'") if chat else ("task.commentitem.add", f"'0': '{task_id}'")


def test_one_target_refusing_posts_leaves_the_other_going_and_the_run_failing(any_world):
    w, p = any_world, any_world.portal
    customer = _two_targets(w)
    w.run("sync")
    p.faults.refuse(*_posts_to(w, customer), message="Access denied")
    news = p.add_comment(w.design, w.anna, "the drawings are approved")
    refused = w.run("sync", check=False)
    assert p.faults.refused >= 1
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f'task {customer} "customer"' in refused.stdout + refused.stderr
    marker = w.talk(w.design, news)
    assert w.mirrors(w.master) == [marker]
    assert w.mirrors(customer) == []

    p.faults.clear()  # the curator's access is back: the customer's lane catches up, the internal one stays put
    w.run("sync")
    w.run("sync")
    assert w.mirrors(w.master) == [marker]
    assert w.mirrors(customer) == [marker]


def test_check_refuses_a_target_inside_the_source_subtree_and_names_the_good_one(world):
    customer = _customer_task(world)
    world.write_config(targets=[{"task": customer, "name": "customer"}, {"task": world.drawings, "name": "inside"}])
    result = world.run("check", check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"task {world.drawings} lies inside the source subtree of master task {world.master}" in out, out
    assert "groups[0].targets[1].task" in out, out
    assert f'task {customer} (Bridge repair: for the customer) receives the mirrors of group {world.group} → task ' \
           f'{customer} "customer"' in out, out


def test_a_target_task_that_is_gone_fails_alone(world):
    gone = 999_999  # deleted, or never there
    world.write_config(targets=[{"task": world.master, "name": "internal"}, {"task": gone, "name": "customer"}])
    world.run("sync", check=False)
    news = world.portal.add_comment(world.design, world.anna, "the drawings are approved")
    result = world.run("sync", check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f'target task {gone} (group {world.group} → task {gone} "customer") does not exist' in out, out
    assert world.mirrors(world.master) == [world.talk(world.design, news)]


def test_a_target_in_the_source_group_is_not_read_as_news_and_the_lanes_share_their_reads(world):
    """`loose` is a task of the group outside the master's subtree: our posts there move its dates, which
    must not make any lane read its talk and history every run. Both lanes read the same subtree: a
    command they both need goes out once."""
    world.write_config(targets=[{"task": world.master, "name": "internal"}, {"task": world.loose, "name": "board"}])
    world.run("sync")
    news = world.portal.add_comment(world.design, world.anna, "the drawings are approved")
    world.run("sync")
    world.portal.request_log.clear()
    world.run("sync")
    read = [e.method for e in world.portal.request_log
            if e.method != "tasks.task.get" and f"'{world.loose}'" in repr(e.params)]
    assert any(e.method == "tasks.task.list" for e in world.portal.request_log)  # the log saw the run
    assert read == [], read
    asked = [(e.method, repr(e.params)) for e in world.portal.request_log if e.in_batch]
    assert len(asked) == len(set(asked)), sorted(asked)  # the lanes ask alike: each command goes out once
    marker = world.talk(world.design, news)
    assert world.mirrors(world.master) == [marker] and world.mirrors(world.loose) == [marker]


def test_audit_and_repair_work_on_each_target_in_its_own_task(world):
    customer = _two_targets(world)
    world.run("sync")
    news = world.portal.add_comment(world.design, world.anna, "the drawings are approved")
    world.run("sync")
    marker = world.talk(world.design, news)
    [mirror] = [c["id"] for c in world.portal.comments(customer) if marker in c["text"]]
    world.portal.delete_comment(customer, mirror)  # the curator's copy deleted by hand
    audit = json.loads(world.run("audit", "--json", check=False).stdout)
    by_target = {a.get("target"): a["counts"]["missing"] for a in audit["groups"]}
    assert by_target == {world.master: 0, customer: 1}, audit
    world.run("repair")
    assert world.mirrors(world.master) == [marker] and world.mirrors(customer) == [marker]
    world.run("audit")  # clean in both
