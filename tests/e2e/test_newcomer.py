"""What a new administrator meets first: the words of check, sync and the errors, run as the real command."""
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from b24mirror.cli.initconfig import render
from b24mirror.config.load import validate
from b24mirror.config.settings import DEFAULT_HIDE, Rules

pytestmark = pytest.mark.e2e


def run_with_env(world, *args, **env):
    world.portal.advance(30)
    return subprocess.run([sys.executable, "-m", "b24mirror", "--config", str(world.config_path), *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_check_counts_one_group_in_the_singular(world):
    result = world.run("check", check=False)
    assert "ok (1 group, webhook" in result.stdout, result.stdout


def test_a_dry_first_sync_records_no_baseline_and_says_so(world):
    result = world.run("sync", "--dry-run")
    assert "the baseline would be recorded by a real run" in result.stderr
    assert "baseline recorded" not in result.stderr
    assert not world.state_path.exists()


def test_an_error_names_the_environment_variable_the_webhook_came_from(world):
    world.write_config()
    wrong = world.server.webhook_url(world.me, "not-the-secret")
    result = run_with_env(world, "sync", B24MIRROR_WEBHOOK=wrong)
    assert result.returncode == 5, result.stderr
    assert "check B24MIRROR_WEBHOOK" in result.stderr and "portal.webhook" not in result.stderr
    assert "not-the-secret" not in result.stderr
    result = run_with_env(world, "check", B24MIRROR_WEBHOOK=wrong)
    assert "check B24MIRROR_WEBHOOK" in result.stdout and "portal.webhook" not in result.stdout


def test_without_a_config_the_fix_is_init(tmp_path):
    missing = tmp_path / "b24mirror.yaml"
    result = subprocess.run([sys.executable, "-m", "b24mirror", "--config", str(missing), "sync"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"b24mirror init {missing}" in result.stderr and "config.example.yaml" not in result.stderr


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_minimal_config_keeps_internal_notes_out_quoted_or_not(world):
    block = README.read_text().split("## Configuration reference")[1].split("```yaml\n")[1].split("```")[0]
    config = yaml.safe_load(block)
    config["portal"]["webhook"] = world.server.webhook_url(world.me, world.secret)
    config["state_file"] = str(world.state_path)
    config["groups"][0].update({"id": world.group, "master_task": world.master})
    world.config_path = world.tmp / "minimal.yaml"
    world.config_path.write_text(yaml.safe_dump(config))
    world.run("sync")
    quoted = world.portal.add_comment(world.design, world.anna, "[QUOTE]#internal price for logo is 500 EUR[/QUOTE]")
    note = world.portal.add_comment(world.design, world.boris, "#internal our margin is 18%")
    said = world.portal.add_comment(world.design, world.anna, "Logo approved")
    world.run("sync")
    assert world.mirrors() == [world.talk(world.design, said)], (quoted, note)
    assert not any("500 EUR" in text or "margin" in text for text in world.mirror_texts())


def test_hide_has_one_default_in_the_code_the_readme_and_init():
    row = next(line for line in README.read_text().splitlines() if line.startswith("| `groups[].rules.hide` |"))
    readme_default = row.split("|")[2].strip().strip("`")
    assert yaml.safe_load(readme_default) == list(DEFAULT_HIDE)
    assert yaml.safe_load(render())["groups"][0]["rules"]["hide"] == list(DEFAULT_HIDE)
    loaded = validate({"portal": {"webhook": "https://x.bitrix24.ru/rest/1/abc/"},
                       "groups": [{"id": 1, "master_task": 2}]}, base_dir=Path("/"), environ={})
    assert [p.pattern for p in loaded.groups[0].rules.hide_patterns] == list(DEFAULT_HIDE)
    assert [p.pattern for p in Rules().hide_patterns] == list(DEFAULT_HIDE)


def test_what_the_master_reads_has_dashes_minutes_and_group_links(world):
    world.run("sync")
    world.portal.set_deadline(world.design, world.portal.now_ts() + 9 * 86400, by=world.anna)
    world.portal.add_comment(world.design, world.anna, "Drawings are ready")
    world.run("sync")
    texts = world.mirror_texts()
    deadline = next(t for t in texts if "Deadline:" in t)
    assert "Deadline: — → " in deadline and "False" not in deadline
    for text in texts:
        assert not re.search(r"\d\d:\d\d:\d\d", text), text  # minutes, never seconds
        assert f"/workgroups/group/{world.group}/tasks/task/view/{world.design}/" in text


def test_a_warning_about_many_tasks_reads_once_in_sync_audit_and_repair(chat_world):
    w, p = chat_world, chat_world.portal
    w.run("sync")
    private = [p.add_task(f"Private {i}", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                          parent_id=w.master, new_card=True, auditors=()) for i in range(7)]
    for task in private:
        p.add_comment(task, w.anna, "said where the robot cannot read")
    named = ", ".join(map(str, private[:5])) + ", … (+2 more)"
    sync = w.run("sync", check=False)
    lines = [line for line in sync.stderr.splitlines() if "not a participant" in line]
    assert lines == [f"group {w.group}: warning: tasks {named}: user {w.me} is not a participant of its chat; "
                     f"add user {w.me} as an observer of these tasks, or set auto_observe: true for group {w.group}"]
    for command in (("audit",), ("repair", "--dry-run")):
        out = w.run(*command, check=False).stdout
        rows = [line for line in out.splitlines() if "not a participant" in line]
        assert len(rows) == 1 and f"tasks {named}" in rows[0], out


def test_what_auto_observe_does_is_said_but_is_no_warning(chat_world):
    w, p = chat_world, chat_world.portal
    w.write_config(auto_observe=True)
    w.run("sync")
    private = [p.add_task(f"Private {i}", created_by=w.anna, responsible_id=w.boris, group_id=w.group,
                          parent_id=w.master, new_card=True, auditors=()) for i in range(2)]
    for task in private:
        p.add_comment(task, w.anna, "written before the robot joined")
    result = w.run("sync")
    assert f"group {w.group}: tasks {private[0]}, {private[1]}: added user {w.me} as an observer" in result.stderr
    assert "warning" not in result.stderr
    assert w.run("sync", "-q").stderr == ""


def test_sync_and_repair_name_a_missing_state_folder_as_check_does(world):
    world.write_config()
    folder = world.tmp / "not-made-yet"
    world.config_path.write_text(world.config_path.read_text().replace(str(world.state_path),
                                                                       str(folder / "state.json")))
    check = world.run("check", check=False)
    said = next(line for line in check.stdout.splitlines() if f"state folder {folder}" in line)
    for command in ("sync", "repair"):
        result = world.run(command, check=False)
        assert result.returncode == 2, result.stderr
        assert f"state folder {folder}: does not exist; fix: create it for the user running b24mirror: " \
               f"mkdir -p {folder}" in result.stderr
        assert "unexpected error" not in result.stderr
    assert "does not exist" in said and check.returncode == 1


def test_check_warns_when_the_master_task_is_itself_a_subtask(world):
    top = world.portal.add_task("Programme", created_by=world.anna, responsible_id=world.boris, group_id=world.group)
    world.portal.set_field(world.master, "PARENT_ID", top, by=world.anna)
    result = world.run("check", check=False)
    assert f"task {world.master} is itself a subtask of task {top}" in result.stdout
    assert result.returncode == 0  # a warning: the config may mean it


def test_a_group_id_that_does_not_exist_is_not_blamed_on_the_master_alone(world):
    world.write_config(id=999)
    result = world.run("sync", check=False)
    assert result.returncode == 1
    assert f"if group 999 is not the project's group, fix groups[].id (group {world.group}?)" in result.stderr


def test_check_json_has_the_schema_of_the_other_commands(world):
    world.write_config(master_task=world.design)  # a subtask as the master: a warning, not a blocker
    result = world.run("check", "--json", check=False)
    document = json.loads(result.stdout)
    status = json.loads(world.run("status", "--json").stdout)
    assert document["schema"] == status["schema"] and result.returncode == 0 and document["ok"] is True
    levels = {f["level"] for f in document["findings"]}
    assert levels <= {"ok", "warning", "blocker"} and "warning" in levels
    assert all(set(f) == {"level", "subject", "message", "fix"} for f in document["findings"])
    assert world.secret not in result.stdout + result.stderr
    world.write_config(master_task=99999)
    blocked = world.run("check", "--json", check=False)
    assert blocked.returncode == 1 and json.loads(blocked.stdout)["ok"] is False


def test_status_shows_what_waits_for_the_digest_and_when(world):
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    for text in ("one", "two", "three"):
        world.portal.add_comment(world.design, world.anna, text)
    world.run("sync")
    assert world.mirrors() == []
    text = world.run("status").stdout
    held = [line for line in text.splitlines() if "held for the digest" in line]
    assert len(held) == 1 and re.fullmatch(rf"group {world.group}: 3 items held for the digest due "
                                           r"\d\d\.\d\d\.\d{4} \d\d:\d\d", held[0]), text
    digest = json.loads(world.run("status", "--json").stdout)["groups"][0]["digest"]
    assert digest["held"] == 3 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", digest["due"])


def test_a_due_digest_is_shown_by_dry_run_as_posted_and_counted_as_one_digest(world):
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    for text in ("one", "two", "three", "four"):
        world.portal.add_comment(world.design, world.anna, text)
    world.run("sync")
    world.portal.advance(3600)
    dry = world.run("sync", "--dry-run")
    shown = dry.stdout.split("\n--- ")
    assert len(shown) == 1 and all(word in dry.stdout for word in ("one", "two", "three", "four")), dry.stdout
    assert f"group {world.group}: 1 digest (4 items) would be mirrored" in dry.stderr
    real = world.run("sync")
    assert f"group {world.group}: 1 digest (4 items) mirrored" in real.stderr
    assert len(world.mirror_texts()) == 1 and len(world.mirrors()) == 4


def test_the_readme_playground_mirrors_what_a_person_posts_through_the_second_webhook(tmp_path):
    from b24mirror.fakeportal import serve
    from b24mirror.fakeportal.portal import FakePortal

    block = README.read_text().split("**A playground.**")[1].split("```sh\n")[1].split("```")[0]
    curl = shlex.split(block.split("\n", 1)[1].replace("\\\n", " ").split("#")[0])
    portal, info = FakePortal.from_file(str(README.parent / "examples" / "seed.yaml"))
    server = serve(portal, port=0)
    try:
        config = tmp_path / "b24mirror.yaml"
        config.write_text(yaml.safe_dump({
            "portal": {"webhook": server.webhook_url(info["user_id"], info["secret"])},
            "state_file": str(tmp_path / "state.json"), "language": "en",
            "groups": [{"id": info["group_id"], "master_task": info["master_task_id"]}]}))
        run = [sys.executable, "-m", "b24mirror", "--config", str(config), "sync"]
        assert subprocess.run(run, capture_output=True, timeout=120).returncode == 0
        portal.advance(60)
        url = curl[2].replace("http://127.0.0.1:8080", server.base_url)
        body = "&".join(curl[i + 1] for i, word in enumerate(curl) if word == "-d")
        with urllib.request.urlopen(url, data=body.encode()) as answer:
            comment_id = int(json.loads(answer.read())["result"])
        portal.advance(60)
        assert subprocess.run(run, capture_output=True, timeout=120).returncode == 0
        mirrored = [c["text"] for c in portal.comments(info["master_task_id"]) if c["author_id"] == info["user_id"]]
        assert any(f":{comment_id}" in text and "Hello from Anna" in text for text in mirrored), mirrored
    finally:
        server.shutdown()


def test_shell_completion_as_the_readme_writes_it():
    line = next(x for x in README.read_text().splitlines() if "_B24MIRROR_COMPLETE=bash_source" in x)
    variable = re.search(r"(_B24MIRROR_COMPLETE)=(bash_source)", line)
    result = subprocess.run([sys.executable, "-c", "from b24mirror.cli import main; main(prog_name='b24mirror')"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, variable.group(1): variable.group(2)})
    assert "_b24mirror_completion" in result.stdout and "complete " in result.stdout


def test_audit_leaves_items_held_for_the_digest_to_sync(world):
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    for text in ("one", "two"):
        world.portal.add_comment(world.design, world.anna, text)
    world.run("sync")
    result = world.run("audit", check=False)
    assert result.returncode == 0, result.stdout
    assert "0 missing" in result.stdout and "2 held for the digest" in result.stdout
    assert world.run("repair").returncode == 0 and world.mirrors() == []  # repair does not post them one by one


def test_repair_dry_run_shows_the_text_it_would_post(world):
    world.run("sync")
    c = world.portal.add_comment(world.design, world.anna, "Foundations poured")
    world.run("sync")
    mirror = next(m for m in world.portal.comments(world.master) if "Foundations poured" in m["text"])
    world.portal.delete_comment(world.master, mirror["id"])
    dry = world.run("repair", "--dry-run", check=False)
    assert f"would post       b24m:comment:{world.design}:{c}" in dry.stdout
    assert "| " in dry.stdout and "Foundations poured" in dry.stdout.split(world.talk(world.design, c))[-1]
    document = json.loads(world.run("repair", "--dry-run", "--json", check=False).stdout)
    assert "Foundations poured" in document["groups"][0]["actions"][0]["text"]


def test_a_digest_names_each_subtask_once_and_keeps_every_items_marker(world):
    world.write_config(digest={"every": "1h"})
    world.run("sync")
    said = [world.portal.add_comment(world.design, world.anna, text) for text in ("one", "two", "three")]
    world.run("sync")
    world.portal.advance(3600)
    world.run("sync")
    [digest] = world.mirror_texts()
    assert digest.count(f"#{world.design} Design") == 1, digest
    assert sorted(world.mirrors()) == sorted(world.talk(world.design, c) for c in said)
    world.run("sync")
    assert len(world.mirror_texts()) == 1 and world.run("audit").returncode == 0  # trusted: nothing again


def test_every_link_a_reader_follows_opens_the_task_in_its_group(chat_world):
    """Single mirrors, a deleted one's note, a withdrawn one's note and a digest's header: every link posted
    in the master goes to /workgroups/group/G/tasks/task/view/T/, never to a personal page of user 0."""
    world = chat_world
    world.write_config(on_delete="mark", on_edit="update")
    world.run("sync")
    gone = world.portal.add_comment(world.design, world.anna, "to be deleted")
    withdrawn = world.portal.add_comment(world.drawings, world.anna, "to be hidden")
    world.run("sync")
    world.portal.delete_comment(world.design, gone)
    world.portal.edit_comment(world.drawings, withdrawn, "#internal now hidden")
    world.portal.add_comment(world.drawings, world.boris, "a reply")  # read on from the edited message
    world.run("sync")
    world.write_config(on_delete="mark", on_edit="update", digest={"every": "1h"})
    for text in ("one", "two"):
        world.portal.add_comment(world.design, world.anna, text)
    world.run("sync")
    world.portal.advance(3600)
    world.run("sync")
    texts = world.mirror_texts()
    kinds = {"deleted": "The source comment was deleted", "withdrawn": "Withdrawn at the source", "digest": "Digest"}
    for kind, words in kinds.items():
        assert any(words in text for text in texts), (kind, "\n".join(texts))
    links = [url for text in texts for url in re.findall(r"\[url=([^\]]+)\]", text, flags=re.I)]
    assert len(links) >= len(texts)
    for url in links:
        assert re.search(rf"/workgroups/group/{world.group}/tasks/task/view/\d+/", url), url
