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
