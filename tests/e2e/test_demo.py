"""`b24mirror demo` tells the whole story with no portal and no config."""
import re
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo run shared by the file's tests: it is the slowest thing they do."""
    folder = tmp_path_factory.mktemp("demo")
    result = subprocess.run([sys.executable, "-m", "b24mirror", "demo"], capture_output=True, text=True,
                            timeout=120, cwd=folder)
    assert result.returncode == 0, result.stderr
    return result, folder


def test_demo_shows_mirrored_comments_and_keeps_out_the_rest(demo):
    result, tmp_path = demo
    out = result.stdout
    master_view = out.split("now reads")[1].split("Kept out")[0]
    assert "Чертежи согласованы с заказчиком" in master_view
    assert "Supplier confirmed delivery" in master_view
    assert "Status: In progress → Completed" in out
    assert "Deadline:" in out
    assert "margin" not in master_view and "#internal" not in master_view
    assert "my opinion anyway" not in master_view
    assert "hidden by rule" in out and "not a group member" in out
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working folder


def test_demo_shows_the_digest_and_the_checklist_as_a_manager_sees_them(demo):
    result, _ = demo
    part = result.stdout.split("4. Now with")[1]
    after = part.split("After a sync")[1].split("5. ")[0]
    assert "[ ] #102 " in after  # one item per first-level subtask, added by the sync
    closing = part.split("5. ")[1].split("6. ")[0]
    closed = closing.split("Three notes and task ")[1].split(" ")[0]
    assert f"[x] #{closed} " in closing and "3 held for the digest" in closing and "1 event mirrored" in closing
    digest = part.split("6. ")[1]
    assert "Digest · 3 new" in digest and digest.count("Progress note on task") == 3


def test_demo_shows_a_result_and_a_status_report(demo):
    part = demo[0].stdout.split("7. With `report: {every: 1d}`")[1].split("8. ")[0]
    closed = part.split("task ")[1].split(" ")[0]
    assert "✅ Result" in part and "the customer signed the report" in part
    report = part.split("Status report ")[1]
    assert "Progress:" in report and f"Completed (1)\n  • #{closed} " in report and "Deadlines moved (1)" in report


def test_demo_prints_the_checklist_once_and_ends_on_what_it_showed(demo):
    out = demo[0].stdout
    items = re.findall(r"^ +\[[ x]\] (.+)$", out, re.M)
    assert len(items) > 10 and len(items) == len(set(items)) + 1  # the whole list once, then the one that changed
    last_run = out.split("8. ")[1]
    assert "nothing new" in last_run.splitlines()[0]
    assert "nothing is posted twice" not in out  # each demo is a fresh portal: it cannot show that across runs


def test_demo_shows_two_audiences_side_by_side(demo):
    part = demo[0].stdout.split("9. Two audiences")[1]
    internal, customer = part.split("(internal, the master) received:")[1].split("(customer) received:")
    assert "Staging is ready" in internal and "Price of the extra licences" in internal
    assert "Staging is ready" in customer and "Price" not in customer
    assert "#internal" not in internal + customer and "vendor is late" not in internal + customer
