"""The served fake portal as a playground: the README's seed example, a person's webhook, people at work."""
import re
from pathlib import Path

from b24mirror.fakeportal.activity import Activity
from b24mirror.fakeportal.demo import build_demo_portal
from b24mirror.fakeportal.portal import FakePortal

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_seed_example_loads_with_a_robot_and_a_persons_webhook():
    assert "examples/seed.yaml" in (ROOT / "README.md").read_text()
    portal, info = FakePortal.from_file(str(ROOT / "examples" / "seed.yaml"))
    assert portal.tasks[info["master_task_id"]].title.startswith("Website relaunch")
    assert [h["user_id"] for h in info["people_webhooks"]] != [info["user_id"]]
    assert len(info["people_webhooks"]) == 1
    assert portal.groups[info["group_id"]].members.keys() >= {info["user_id"], info["people_webhooks"][0]["user_id"]}


def test_the_demo_portal_has_a_persons_webhook_besides_the_robots():
    _, info = build_demo_portal(seed=3)
    person = info["people_webhooks"][0]
    assert person["user_id"] != info["user_id"] and person["secret"] != info["secret"]


def test_activity_has_people_comment_change_statuses_and_move_deadlines_in_the_project():
    portal, info = FakePortal.from_file(str(ROOT / "examples" / "seed.yaml"))
    people = Activity(portal, info["group_id"], info["master_task_id"], info["user_id"], seed=5)
    said = [people.step() for _ in range(40)]
    kinds = {re.sub(r"\d+", "N", line).split(" task")[0] for line in said}
    assert kinds == {"user N commented on", "user N set", "user N moved"}, said
    subtree = {t for t in portal.tasks if t != info["master_task_id"]}
    assert all(int(re.search(r"task (\d+)", line).group(1)) in subtree for line in said)
    assert not any(line.startswith(f"user {info['user_id']} ") for line in said)  # never the robot
