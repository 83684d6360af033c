"""Markers name their world: a forum comment's mirror carries `b24m:comment:T:ID`, a chat message's
`b24m:message:T:ID`. The platform numbers the two in separate sequences, so a task switched to the new card can
have a forum comment and a chat message with one id; and mirrors posted before `message` existed carry the old
form `comment` for chat messages too. Each case runs the real command against the fake portal and judges by the
master's comments: every source once, nothing twice, audit clean."""
import json
import sqlite3
from collections import Counter

import pytest

from .conftest import build_world

pytestmark = pytest.mark.e2e


def switched_with_shared_ids(w) -> tuple[list[int], list[int]]:
    """Forum comments on Design mirrored, then the card switch and chat messages whose ids are those of the
    forum comments. Returns (forum ids, chat ids)."""
    p = w.portal
    w.run("sync")
    p.raise_ids(comment=500_000)
    forum = [p.add_comment(w.design, w.anna, f"forum note {i}") for i in range(3)]
    w.run("sync")
    p.switch_to_new_card(w.group)
    with p.lock:
        p.open_card(p.tasks[w.design])  # its chat, opening with the platform's notices
    p.raise_ids(message=forum[1] - 2)
    p.advance(5)
    chat = [p.add_comment(w.design, w.boris, f"chat note {i}") for i in range(3)]
    assert set(forum) & set(chat), (forum, chat)  # the premise: ids the two worlds share
    return forum, chat


def expected(w, forum: list[int], chat: list[int]) -> dict[str, str]:
    """Marker -> the text its mirror quotes."""
    return {**{f"b24m:comment:{w.design}:{i}": f"forum note {n}" for n, i in enumerate(forum)},
            **{f"b24m:message:{w.design}:{i}": f"chat note {n}" for n, i in enumerate(chat)}}


def assert_once_each(w, wanted: dict[str, str]) -> None:
    texts = w.mirror_texts()
    for said in wanted.values():  # by what the mirrors say: a lost source shows here whatever its marker
        assert sum(said in t for t in texts) == 1, (said, texts)
    found = Counter(m for m in w.mirrors() if m.startswith(("b24m:comment:", "b24m:message:")))
    assert found == Counter({marker: 1 for marker in wanted}), found
    for marker, said in wanted.items():
        assert any(marker in t and said in t for t in texts), (marker, said)


def audit_findings(w) -> list:
    result = w.run("audit", "--json", check=False)
    group = json.loads(result.stdout)["groups"][0]
    assert result.returncode == 0 or group["findings"], result.stdout + result.stderr
    return [(f["kind"], f["marker"]) for f in group["findings"]]


def as_written_before_message(w, *, lose: tuple[str, ...] = ()) -> None:
    """The master and the state as b24mirror wrote them before `message` existed: every chat message's mirror
    and ledger entry under `comment`, and the mirrors of `lose` never posted (the old code took them for
    mirrored: a forum comment had the same marker)."""
    p = w.portal
    with p.lock:
        master = p.tasks[w.master]
        rows = list(master.comments) + (list(p.chats[master.chat_id].messages) if master.chat_id else [])
        for row in rows:
            if row.author_id == w.me and any(marker in row.text for marker in lose):
                (master.comments if row in master.comments else p.chats[master.chat_id].messages).remove(row)
            elif row.author_id == w.me:
                row.text = row.text.replace("b24m:message:", "b24m:comment:")
    db = sqlite3.connect(w.state_path)
    with db:
        for marker in lose:
            _, _, task_id, source_id = marker.split(":")
            db.execute("DELETE FROM ledger WHERE kind = 5 AND task_id = ? AND source_id = ?", (task_id, source_id))
        db.execute("UPDATE groups SET ledger_size = ledger_size - ?", (len(lose),))
        assert not db.execute("SELECT 1 FROM ledger WHERE kind = 1 AND (task_id, source_id) IN "
                              "(SELECT task_id, source_id FROM ledger WHERE kind = 5)").fetchall()
        db.execute("UPDATE ledger SET kind = 1 WHERE kind = 5")
        for group_id, key, value in db.execute("SELECT group_id, key, value FROM meta").fetchall():
            db.execute("UPDATE meta SET value = ? WHERE group_id = ? AND key = ?",
                       (value.replace("b24m:message:", "b24m:comment:"), group_id, key))
    db.close()


def test_a_forum_comment_and_a_chat_message_with_one_id_are_each_mirrored_once(tmp_path):
    w = build_world(tmp_path)
    try:
        forum, chat = switched_with_shared_ids(w)
        # The forum that tells the shared ids apart cannot be read: the task waits, nothing is posted on a guess.
        w.portal.faults.refuse("task.commentitem.getlist", f"'0': '{w.design}', '1': {{'ID': 'asc'}}}}")
        result = w.run("sync", check=False)
        assert w.portal.faults.refused >= 1 and "its forum could not be read" in result.stderr, result.stderr
        w.portal.faults.clear()
        w.run("sync")
        w.run("sync")
        wanted = expected(w, forum, chat)
        assert_once_each(w, wanted)
        assert audit_findings(w) == []
        w.state_path.unlink()  # a lost state: both worlds read back from the master
        later = w.portal.add_comment(w.design, w.anna, "chat note 3")
        w.run("sync")
        w.run("sync")
        assert_once_each(w, {**wanted, f"b24m:message:{w.design}:{later}": "chat note 3"})
        assert audit_findings(w) == []
    finally:
        w.server.shutdown()


def test_chat_mirrors_under_the_old_form_are_kept_and_not_posted_again(tmp_path):
    """A chat-only task mirrored before `message` existed: its mirrors count, for sync (from the ledger and
    after a lost state), for a backfill that reads the chat again, for an edit, and for audit."""
    w = build_world(tmp_path, new_card=True)
    try:
        p = w.portal
        w.write_config(on_edit="update")
        w.run("sync")
        said = [p.add_comment(w.design, w.anna, f"chat note {i}") for i in range(3)]
        w.run("sync")
        as_written_before_message(w)
        old = {f"b24m:comment:{w.design}:{i}": f"chat note {n}" for n, i in enumerate(said)}
        assert_once_each(w, old)
        assert audit_findings(w) == []
        p.edit_message(p.find_message(said[0]), "chat note 0, edited")
        later = p.add_comment(w.design, w.boris, "chat note 3")
        w.run("sync")
        now = {**old, f"b24m:message:{w.design}:{later}": "chat note 3"}
        now[f"b24m:comment:{w.design}:{said[0]}"] = "chat note 0, edited"  # rewritten in place, old form kept
        assert_once_each(w, now)
        w.run("sync", "--backfill")  # every chat read again from its start
        w.state_path.unlink()
        w.run("sync")
        assert_once_each(w, now)
        assert audit_findings(w) == []
    finally:
        w.server.shutdown()


def test_repair_after_the_old_code_lost_a_chat_message_to_a_forum_comment(tmp_path):
    """The state and master the old code left on a switched task: the chat message whose id a forum comment had
    was taken for mirrored; the other chat messages carry the old form. `comment:T:X` is the forum comment's
    (its forum holds X): audit names the one chat message missing and nothing else, repair posts it alone."""
    w = build_world(tmp_path)
    try:
        forum, chat = switched_with_shared_ids(w)
        w.run("sync")
        shared = sorted(set(forum) & set(chat))
        lost = tuple(f"b24m:message:{w.design}:{i}" for i in shared)
        as_written_before_message(w, lose=lost)
        wanted = expected(w, forum, chat)
        old = {(m.replace("b24m:message:", "b24m:comment:") if m.startswith("b24m:message:") and m not in lost
                else m): said for m, said in wanted.items()}
        w.run("sync")  # the upgrade's first run: nothing of it twice
        assert sorted(audit_findings(w)) == sorted(("missing", m) for m in lost)
        before = {c["id"] for c in w.portal.comments(w.master)}
        report = json.loads(w.run("repair", "--json", check=False).stdout)["groups"][0]
        assert sorted((a["action"], a["marker"]) for a in report["actions"]) == sorted(("post", m) for m in lost)
        assert before <= {c["id"] for c in w.portal.comments(w.master)}  # nothing deleted
        assert_once_each(w, old)
        assert audit_findings(w) == []
        w.state_path.unlink()
        w.run("sync")
        assert_once_each(w, old)
        assert audit_findings(w) == []
    finally:
        w.server.shutdown()


def test_chat_messages_held_for_a_digest_under_the_old_form_go_out_once(tmp_path):
    """Items held for a digest before `message` existed are keyed by the old form: when the digest is due, the
    same messages planned again under their own marker are one item each, not two."""
    w = build_world(tmp_path, new_card=True)
    try:
        p = w.portal
        w.write_config(digest={"every": "1h"})
        w.run("sync")
        said = [p.add_comment(w.design, w.anna, f"chat note {i}") for i in range(2)]
        w.run("sync")  # held
        assert [m for m in w.mirrors() if m.startswith(("b24m:comment:", "b24m:message:"))] == []
        as_written_before_message(w)
        p.advance(3600)
        w.run("sync")
        w.run("sync")
        texts = [t for t in w.mirror_texts() if "chat note" in t]
        assert len(texts) == 1 and all(texts[0].count(f"chat note {i}") == 1 for i in range(2)), texts
        assert sorted(w.mirrors_in(texts[0])) == sorted(w.talk(w.design, i) for i in said)
        assert audit_findings(w) == []
    finally:
        w.server.shutdown()


def test_repair_deletes_a_leak_under_the_old_form_and_forgets_it(tmp_path):
    """A rule added later covers a chat message mirrored under the old form: repair deletes that mirror alone, and
    the ledger keeps no entry, in either form, claiming a mirror that is gone."""
    w = build_world(tmp_path, new_card=True)
    try:
        p = w.portal
        w.run("sync")
        leak, kept = (p.add_comment(w.design, w.anna, text) for text in ("the salary table", "chat note 0"))
        w.run("sync")
        as_written_before_message(w)
        w.write_config(rules={"hide": ["(?i)salary"]})
        assert audit_findings(w) == [("leaked", f"b24m:message:{w.design}:{leak}")]
        report = json.loads(w.run("repair", "--json", check=False).stdout)["groups"][0]
        assert [(a["action"], a["marker"]) for a in report["actions"]] == [
            ("delete", f"b24m:message:{w.design}:{leak}")]
        assert_once_each(w, {f"b24m:comment:{w.design}:{kept}": "chat note 0"})
        assert "salary" not in "\n".join(w.mirror_texts())
        db = sqlite3.connect(w.state_path)
        assert db.execute("SELECT kind FROM ledger WHERE source_id = ?", (leak,)).fetchall() == []
        db.close()
        assert audit_findings(w) == []
    finally:
        w.server.shutdown()
