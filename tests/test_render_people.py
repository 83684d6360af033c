"""What the customer reads, kind by kind: no value reads "—", dates read one way, links point where the portal does."""
import pytest

from b24mirror.policy.models import Comment, HistoryEvent, Task, User
from b24mirror.policy.render import render_comment, render_event
from b24mirror.policy.render.dates import format_date

PORTAL = "https://portal.example"
TASK = Task(id=123, title="Fix the pump", group_id=42, parent_id=100, status=3, created_by=1, responsible_id=2,
            created_date="2025-07-01T09:00:00+03:00", changed_date="2025-07-15T14:31:00+03:00")
USERS = {7: User(id=7, name="Ivan Petrov", active=True, extranet=False)}
# How the portal writes "no value" on one side of a change, depending on the field and the API.
NOTHING = (None, False, "", "false", "False", "0", "null")
# One real value per kind, and how it reads.
KINDS = {
    "STATUS": ("3", "In progress"),
    "DEADLINE": ("2025-07-20T18:00:00+03:00", "20.07"),
    "RESPONSIBLE_ID": ("7", "Ivan Petrov"),
    "TITLE": ("Fix the pump", "Fix the pump"),
    "PRIORITY": ("2", "2"),
}


def event(field, before, after):
    return HistoryEvent(id=9, task_id=123, field=field, before=before, after=after, date="2025-07-15T14:31:00+03:00",
                        user_id=7, user_name="Ivan Petrov")


def change(field, before, after):
    return render_event(TASK, event(field, before, after), portal_url=PORTAL, language="en", users=USERS)


@pytest.mark.parametrize("field", KINDS)
@pytest.mark.parametrize("nothing", NOTHING)
def test_a_side_with_no_value_reads_a_dash_for_every_kind(field, nothing):
    value, shown = KINDS[field]
    assert change(field, nothing, value).endswith(f": — → {shown}")
    assert change(field, value, nothing).endswith(f": {shown} → —")


@pytest.mark.parametrize("written", ["15.07.2025 14:31:07", "2025-07-15T14:31:07+03:00", "2025-07-15 14:31:07"])
def test_every_date_a_person_reads_has_one_form_without_seconds(written):
    assert format_date(written) == "15.07.2025 14:31"
    comment = Comment(id=456, task_id=123, author_id=7, author_name="Ivan Petrov", date=written, text="Done")
    assert " · 15.07.2025 14:31\n" in render_comment(TASK, comment, portal_url=PORTAL, language="en")


def test_a_group_task_links_to_its_page_in_the_group():
    text = change("STATUS", "2", "3")
    assert text.startswith(f"[URL={PORTAL}/workgroups/group/42/tasks/task/view/123/#b24m:event:123:9]")


@pytest.mark.parametrize("source", ["[QUOTE]Когда будет готово?[/QUOTE] Думаю, к среде.",
                                    "[QUOTE]Когда будет готово?[/QUOTE]Думаю, к среде.",
                                    "[QUOTE]Когда будет готово?[/QUOTE]\n\nДумаю, к среде."])
def test_a_reply_under_a_quote_is_set_apart_from_it(source):
    comment = Comment(id=456, task_id=123, author_id=7, author_name="Ivan Petrov", date="2025-07-15T14:31:00+03:00",
                      text=source)
    text = render_comment(TASK, comment, portal_url=PORTAL, language="en")
    assert "» Когда будет готово?\n\nДумаю, к среде.[/QUOTE]" in text, text
