"""End-to-end: `report:` posts one status report per period into the master, its figures those of the
portal's own data, exactly once across lost states and lost answers, under the group's rules."""
import re
from datetime import datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e

WEEK = 7 * 86400


def reports(world) -> list[str]:
    return [t for t in world.mirror_texts() if "#b24m-report:" in t]


def sections(report: str) -> dict[str, list[int]]:
    """Section title -> the subtask ids its lines link, in order."""
    found, current = {}, None
    for line in report.split("\n"):
        title = re.fullmatch(r"\[B\](.+) \(\d+\)\[/B\]|\[b\](.+) \(\d+\)\[/b\]", line)
        if title:
            current = found.setdefault(title.group(1) or title.group(2), [])
        elif line.startswith("• ") and current is not None:
            current.append(int(re.search(r"\]#(\d+) ", line).group(1)))
    return found


def next_monday(moment: datetime) -> datetime:
    monday = (moment + timedelta(days=7 - moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday


def go_to(portal, moment: datetime) -> None:
    portal.advance((moment - portal.now()).total_seconds())


def test_a_weekly_report_on_60_subtasks_says_what_the_portal_holds_once(any_world):
    w, p = any_world, any_world.portal
    chat = p.tasks[w.master].new_card
    w.write_config(report={"every": "1w"})
    week = next_monday(p.now())  # the reported period: week .. week + 7 days
    go_to(p, week - timedelta(days=3))

    def sub(title, **kw):
        return p.add_task(title, created_by=w.anna, responsible_id=w.boris, group_id=w.group, parent_id=w.master,
                          new_card=chat, auditors=(w.me,), **kw)

    tasks = [sub(f"Section {n}") for n in range(60)]
    for tid in tasks[:10]:
        p.set_status(tid, 5, by=w.boris)  # done before the period
    overdue = {tid: 3 for tid in tasks[20:24]}
    for tid in overdue:
        p.set_deadline(tid, (week + timedelta(days=4)).isoformat(), by=w.anna)  # 3 days before the period's end
    p.set_deadline(tasks[24], (week - timedelta(days=2)).isoformat(), by=w.anna)
    overdue[tasks[24]] = 9
    moved = tasks[30:33]
    for tid in moved:
        p.set_deadline(tid, (week + timedelta(days=20)).isoformat(), by=w.anna)
    coming = tasks[40:42]
    for tid in coming:
        p.set_deadline(tid, (week + timedelta(days=9)).isoformat(), by=w.anna)
    w.run("sync")  # mirroring begins before the period

    go_to(p, week + timedelta(hours=10))
    for tid in tasks[10:15]:
        p.set_status(tid, 5, by=w.boris)
    for tid in moved:
        p.set_deadline(tid, (week + timedelta(days=25)).isoformat(), by=w.anna)
    created = [sub("Extra inspection"), sub("Handover papers")]
    w.run("sync")
    assert reports(w) == []  # the period has not ended

    go_to(p, week + timedelta(days=7, hours=1))
    w.run("sync")
    [report] = reports(w)
    first_level = [t for t in p.tasks.values() if t.parent_id == w.master]
    done = sum(1 for t in first_level if t.status == 5)
    assert (done, len(first_level)) == (15, 63)
    assert f"{done} of {len(first_level)} done ▓▓░░░░░░░░ 24%" in report
    found = sections(report)
    assert found["Completed"] == tasks[10:15]
    assert found["Overdue"] == [tasks[24], *tasks[20:24]]  # most late first
    assert "Boris Ivanov · 9 d late" in report and "Boris Ivanov · 3 d late" in report
    assert found["Deadlines moved"] == moved
    assert found["New subtasks"] == created
    assert found["Deadlines in the coming period"] == coming
    assert all(str(tid) not in report for tid in tasks[50:60])  # nothing to say about them

    w.run("sync")
    w.state_path.unlink()  # a lost state: the master's token says the period is reported
    w.run("sync")
    assert len(reports(w)) == 1


def reported_period(world, *, rules=None, every="1w"):
    """A project whose first sync lies before a whole period: the world, and the period's first moment."""
    p = world.portal
    world.write_config(report={"every": every}, **({"rules": rules} if rules else {}))
    week = next_monday(p.now())
    go_to(p, week - timedelta(days=1))
    world.run("sync")
    go_to(p, week + timedelta(hours=2))
    return week


def test_a_report_due_during_a_lost_answer_is_posted_once(any_world):
    w, p = any_world, any_world.portal
    week = reported_period(w)
    p.set_status(w.design, 5, by=w.boris)
    w.run("sync")
    go_to(p, week + timedelta(days=7, hours=1))
    post = "im.message.add" if p.tasks[w.master].new_card else "task.commentitem.add"
    p.faults.add("lost_response", method="batch", contains="b24m-report", count=1)
    w.run("sync", check=False)
    assert p.stats.faults_by_kind["lost_response"] == 1
    assert len(reports(w)) == 1  # the post landed; its answer did not
    w.run("sync")
    w.run("sync")
    assert len(reports(w)) == 1 and p.stats.commands[post] >= 1


def test_a_quiet_period_posts_one_line_and_runs_without_a_due_report_send_nothing_for_it(world):
    w, p = world, world.portal
    week = reported_period(w)
    p.request_log.clear()
    w.run("sync")  # quiet, no report due
    assert not [e for e in p.request_log if e.method in ("tasks.task.history.list", "task.commentitem.getlist")]
    go_to(p, week + timedelta(days=7, minutes=5))
    w.run("sync")
    [report] = reports(w)
    assert "\n" not in report and "no changes" in report and "0 of 1 done" in report
    p.request_log.clear()
    w.run("sync")  # reported: the next one is a week away
    assert not [e for e in p.request_log if "history" in e.method or "getlist" in e.method]


def test_the_rules_apply_hidden_subtasks_are_not_listed_and_redacted_titles_stay_redacted(world):
    w, p = world, world.portal
    week = reported_period(w, rules={"hide": ["^Secret"], "redact": [r"ACME-\d+"]})
    secret = p.add_task("Secret bid", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                        parent_id=w.master, auditors=(w.me,))
    shown = p.add_task("Contract ACME-2291 review", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                       parent_id=w.master, auditors=(w.me,))
    outside = p.add_task("Loose end", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                         parent_id=w.loose, auditors=(w.me,))
    w.run("sync")
    go_to(p, week + timedelta(days=7, minutes=5))
    w.run("sync")
    [report] = reports(w)
    assert sections(report)["New subtasks"] == [shown]
    assert "ACME-2291" not in report and "Contract (redacted) review" in report
    assert "Secret" not in report and str(secret) not in report and str(outside) not in report
    assert "0 of 3 done" in report  # counted, not named
