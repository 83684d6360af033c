"""End-to-end: a subtask's result reaches the master as its own kind, marked as the result, exactly once, in
both comment worlds: added, changed, removed, a comment marked as the result later, judged by the rules."""
import json

import pytest

from b24mirror.policy.models import find_markers

pytestmark = pytest.mark.e2e


def result_mirrors(world) -> list[str]:
    return [m for m in world.mirrors() if m.startswith("b24m:result:")]


def mirror_of(world, marker: str) -> str:
    [text] = [c["text"] for c in world.portal.comments(world.master)
              if c["author_id"] == world.me and marker in c["text"]]
    return text


def test_a_result_is_mirrored_once_as_the_result_and_follows_changes_and_removal(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    result = p.add_result(w.design, w.boris, "Design approved by the customer, drawings v3 final")
    w.run("sync")
    marker = f"b24m:result:{w.design}:{result}"
    assert result_mirrors(w) == [marker]
    text = mirror_of(w, marker)
    assert "✅ Result" in text and "drawings v3 final" in text
    # The comment the result was made from is not mirrored beside it.
    assert not [m for m in w.mirrors() if m.startswith((f"b24m:comment:{w.design}:", f"b24m:message:{w.design}:"))]
    assert sum("drawings v3 final" in t for t in w.mirror_texts()) == 1

    w.state_path.unlink()  # a lost state: the marker in the master still says it is there
    w.run("sync")
    assert result_mirrors(w) == [marker]

    posts = len(w.mirror_texts())
    p.update_result(result, "Design approved, drawings v4 final", by=w.boris)
    w.run("sync")
    w.run("sync")
    assert len(w.mirror_texts()) == posts  # rewritten in place, not posted again
    assert "drawings v4 final" in mirror_of(w, marker) and "v3" not in mirror_of(w, marker)

    p.delete_result(result, by=w.anna)
    w.run("sync")
    w.run("sync")
    assert len(w.mirror_texts()) == posts
    assert "removed" in mirror_of(w, marker) and "v4" not in mirror_of(w, marker)


def test_a_comment_marked_as_the_result_later_is_not_mirrored_twice(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    comment = p.add_comment(w.design, w.boris, "Load test passed at 1.4x the design load")
    w.run("sync")
    assert w.talk(w.design, comment) in w.mirrors()
    result = p.mark_result(w.design, comment, by=w.anna)
    w.run("sync")
    w.run("sync")
    marker = f"b24m:result:{w.design}:{result}"
    assert result_mirrors(w) == [marker]
    assert "now the result" in mirror_of(w, marker)
    assert sum("1.4x the design load" in t for t in w.mirror_texts()) == 1


def test_results_are_judged_by_the_rules(any_world):
    w, p = any_world, any_world.portal
    w.write_config(rules={"hide": ["^#internal"], "redact": [r"\d+ EUR", r"ACME-\d+"]})
    p.set_field(w.drawings, "TITLE", "Drawings for ACME-7")  # the title shows in the mirror's header
    w.run("sync")
    hidden = p.add_result(w.design, w.boris, "#internal margin is thin")
    shown = p.add_result(w.drawings, w.boris, "Drawings done, invoice of 4000 EUR sent")
    outsider = p.add_result(w.loose, w.boris, "outside the master's subtree")
    w.run("sync")
    assert result_mirrors(w) == [f"b24m:result:{w.drawings}:{shown}"]
    text = mirror_of(w, f"b24m:result:{w.drawings}:{shown}")
    assert "4000 EUR" not in text and "Drawings done" in text and "ACME-7" not in text
    assert not any("margin" in t or "outside the master" in t for t in w.mirror_texts())
    assert hidden and outsider

    p.update_result(shown, "Drawings done, invoice paid", by=w.boris)  # rewritten under the same rules
    w.run("sync")
    text = mirror_of(w, f"b24m:result:{w.drawings}:{shown}")
    assert "invoice paid" in text and "ACME-7" not in text

    p.update_result(shown, "#internal now hidden", by=w.boris)  # a change the rules keep out is withdrawn
    w.run("sync")
    assert not any("now hidden" in t for t in w.mirror_texts())
    assert "Withdrawn" in mirror_of(w, f"b24m:result:{w.drawings}:{shown}")


def audit(world) -> dict:
    return json.loads(world.run("audit", "--json", check=False).stdout)["groups"][0]


def test_the_audit_finds_results_in_place_and_a_missing_one(any_world):
    w, p = any_world, any_world.portal
    w.run("sync")
    comment = p.add_comment(w.design, w.boris, "Foundation poured")
    w.run("sync")
    p.mark_result(w.design, comment, by=w.anna)
    p.add_result(w.drawings, w.boris, "Drawings signed off")
    w.run("sync")
    assert audit(w)["findings"] == []  # the comment mirrored before it became the result is no leak
    [mirror] = [c for c in p.comments(w.master) if c["author_id"] == w.me and "Drawings signed off" in c["text"]]
    if p.tasks[w.master].new_card:
        p.delete_message(p.find_message(mirror["id"]))
    else:
        p.delete_comment(w.master, mirror["id"])
    [finding] = audit(w)["findings"]
    assert finding["kind"] == "missing" and finding["marker"].startswith(f"b24m:result:{w.drawings}:")


def test_a_result_comes_first_in_a_digest(world):
    w, p = world, world.portal
    w.write_config(digest={"every": "1h"})
    w.run("sync")
    comment = p.add_comment(w.drawings, w.anna, "Drawings uploaded")
    p.advance(60)
    result = p.add_result(w.design, w.boris, "Design accepted")
    w.run("sync")
    p.advance(3600)
    w.run("sync")
    [digest] = [t for t in w.mirror_texts() if "#b24m-digest:" in t]
    assert [str(m) for m in find_markers(digest)] == [f"b24m:result:{w.design}:{result}",
                                                      w.talk(w.drawings, comment)]
