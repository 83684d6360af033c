"""Rules on every place a reader of the master sees, at the policy level (no I/O): the planner, the
checklist and the digest judge titles, file names and event values as they judge comment text."""
import re

import pytest

from b24mirror.config.settings import GroupConfig, Rules
from b24mirror.policy import checklist
from b24mirror.policy.digest import HeldItem, render_digest
from b24mirror.policy.edits import plan_updates
from b24mirror.policy.models import Attachment, Comment, HistoryEvent, Marker, Task, User, parse_date
from b24mirror.policy.plan import GroupSnapshot, plan_group
from b24mirror.policy.rules import REASON_HIDDEN
from b24mirror.policy.shown import shown_files, shown_title

ANNA, ME, GROUP = 11, 7, 42
WORD = re.compile(r"(?i)salary")
RULES = {"hide": Rules(hide_patterns=(WORD,), events=("status", "subtask", "title")),
         "redact": Rules(redact_patterns=(WORD,), events=("status", "subtask", "title"))}
DAY = "2026-06-02T12:00:00+03:00"


def task(tid, parent, title):
    return Task(id=tid, title=title, group_id=GROUP, parent_id=parent, status=3, created_by=ANNA, responsible_id=ANNA,
                created_date=DAY, changed_date=DAY)


MASTER = task(100, None, "Master")


def plan_of(rules, *, tasks=(), comments=(), history=(), announce=()):
    known = {MASTER.id: MASTER, **{t.id: t for t in tasks}}
    snap = GroupSnapshot(
        group=GroupConfig(id=GROUP, master_task=100, rules=rules, language="en"), master=MASTER, tasks=known,
        comments={c.task_id: [c] for c in comments}, history={e.task_id: [e] for e in history},
        announce=frozenset(announce), members=frozenset({ANNA, ME}), users={ANNA: User(ANNA, "Anna Petrova")},
        own_user_id=ME, baseline=parse_date("2026-06-01T00:00:00+03:00"), portal_url="https://p.example")
    return plan_group(snap)


def comment(tid, text="Hello", files=()):
    return Comment(id=5, task_id=tid, author_id=ANNA, author_name="Anna Petrova", date=DAY, text=text,
                   attachments=tuple(Attachment(name, "/disk/1") for name in files))


def planned_comment(rules):
    return plan_of(rules, tasks=[task(101, 100, "Design")], comments=[comment(101, "The salary table")])


def planned_title(rules):
    return plan_of(rules, tasks=[task(101, 100, "Salary review")], comments=[comment(101)], announce=[101])


def planned_file(rules):
    return plan_of(rules, tasks=[task(101, 100, "Design")], comments=[comment(101, "", ["salary-2026.xlsx"])])


def planned_event(rules):
    event = HistoryEvent(id=9, task_id=101, field="TITLE", before="Salary plan", after="Plan", date=DAY,
                         user_id=ANNA, user_name="Anna Petrova")
    return plan_of(rules, tasks=[task(101, 100, "Plan")], history=[event])


def planned_checklist(rules):
    tasks = {101: task(101, 100, "Salary review"), 102: task(102, 100, "Design")}
    want = checklist.wanted(tasks, MASTER, {}, full=True, rules=rules, language="en")
    return [checklist.item_title(t) for t in want.values() if t is not None]


def planned_digest(rules):
    title = shown_title("Salary review", rules, "en")
    item = HeldItem(Marker("comment", 101, 5), "a line", DAY, 101, title)
    return render_digest([item], master_id=100, group_id=42, portal_url="https://p.example", language="en", flavour="forum")


PLACES = {"comment": planned_comment, "title": planned_title, "file name": planned_file,
          "event value": planned_event}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("kind", list(RULES))
def test_the_planner_judges_every_place(kind, place):
    plan = PLACES[place](RULES[kind])
    if kind == "hide":
        assert plan.mirrors == [] and plan.skipped.get(REASON_HIDDEN)
    else:
        assert plan.mirrors and not any(WORD.search(m.text) for m in plan.mirrors)
        assert all("redacted" in m.text for m in plan.mirrors)


@pytest.mark.parametrize("kind", list(RULES))
def test_the_checklist_judges_titles(kind):
    items = planned_checklist(RULES[kind])
    assert "#102 Design" in items and not any(WORD.search(i) for i in items)
    assert any(i.startswith("#101 ") for i in items) == (kind == "redact")


def test_a_checklist_item_whose_title_a_rule_now_hides_is_removed():
    tasks = {101: task(101, 100, "Salary review")}
    want = checklist.wanted(tasks, MASTER, {"101": {"item": 1, "title": "#101 Salary review"}}, full=True,
                            rules=RULES["hide"])
    assert want == {101: None}
    found = checklist.audit_checklist(tasks, MASTER, [checklist.ChecklistItem(1, "#101 Salary review", ME, False)],
                                      ME, rules=RULES["hide"])
    assert [p.kind for p in found] == [checklist.STALE_ITEM]


def test_the_digest_heading_shows_the_title_as_judged():
    assert not WORD.search(planned_digest(RULES["redact"]))
    assert "(redacted) review" in planned_digest(RULES["redact"])


def test_a_hidden_file_leaves_its_comment_and_the_others_are_listed_redacted():
    rules = Rules(hide_patterns=(re.compile("payroll"),), redact_patterns=(WORD,))
    files = shown_files((Attachment("payroll.pdf", ""), Attachment("salary-2026.xlsx", ""), Attachment("a.png", "")),
                        rules, "en")
    assert [f.name for f in files] == ["(redacted)-2026.xlsx", "a.png"]
    plan = plan_of(rules, tasks=[task(101, 100, "Design")], comments=[comment(101, "Scans", ["payroll.pdf"])])
    [mirror] = plan.mirrors
    assert "Scans" in mirror.text and "payroll" not in mirror.text


def test_a_hidden_parent_title_keeps_its_child_out_too():
    plan = plan_of(RULES["hide"], tasks=[task(101, 100, "Salary review"), task(102, 101, "Drawings")],
                   announce=[102], comments=[comment(102, "Second-level numbers")])
    assert plan.mirrors == [] and set(plan.skipped) == {REASON_HIDDEN}


@pytest.mark.parametrize("kind", list(RULES))
def test_a_rewrite_after_an_edit_judges_the_title_as_a_first_post_does(kind):
    group = GroupConfig(id=GROUP, master_task=100, rules=RULES[kind], language="en", on_edit="update")
    renamed = task(101, 100, "Salary review")
    edited = Comment(id=5, task_id=101, author_id=ANNA, author_name="Anna Petrova", date=DAY, text="New numbers",
                     world="chat", edited=True, attachments=(Attachment("salary.xlsx", "/disk/1"),))
    [update] = plan_updates(group, MASTER, renamed, [edited], ledger={"b24m:comment:101:5": {"id": 77}},
                            hashes={"b24m:comment:101:5": "old"}, users={}, portal_url="https://p.example",
                            members={ANNA}, tasks={100: MASTER, 101: renamed}, own_user_id=ME)
    assert not WORD.search(update.text)
    assert ("New numbers" in update.text) == (kind == "redact")
