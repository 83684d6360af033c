"""Each validation rule of the configuration, and the secret's masking."""
import os
import textwrap

import pytest

from b24mirror.config.load import ConfigError, load_config, mask_webhook, webhook_secret

HOOK = "https://example.bitrix24.ru/rest/1/s3cr3tcode/"


def write(tmp_path, text, name="b24mirror.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text, environ=None):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ=environ or {})
    return info.value.problems


def test_minimal_config_loads_with_defaults(tmp_path):
    config = load_config(write(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups: [{{id: 42, master_task: 1001}}]
    """), environ={})
    group = config.groups[0]
    assert (group.id, group.master_task, group.depth, group.language) == (42, 1001, 2, "ru")
    assert config.state_file == str(tmp_path / "b24mirror-state.json")
    assert config.limits.burst == 50 and config.limits.per_second == 2.0
    assert group.rules.exclude_extranet is False
    assert group.rules.events == ("status", "deadline", "subtask")


def test_full_example_config_is_valid(tmp_path):
    example = open(os.path.join(os.path.dirname(__file__), "..", "config.example.yaml")).read()
    config = load_config(write(tmp_path, example), environ={})
    assert len(config.groups) >= 1


def test_three_mistakes_give_three_problems(tmp_path):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups:
          - id: 42
            master_task: abc
            depth: 3
          - {{id: 43, master_task: 7, lnaguage: en}}
    """)
    assert found == [
        'groups[0].master_task: must be a positive integer, got "abc"',
        "groups[0].depth: must be an integer from 1 to 2, got 3",
        "groups[1].lnaguage: unknown key; did you mean 'language'?",
    ]


def test_unknown_top_level_key_suggests(tmp_path):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        state_fle: x.json
        groups: [{{id: 1, master_task: 2}}]
    """)
    assert found == ["state_fle: unknown key; did you mean 'state_file'?"]


def test_duplicate_group_ids(tmp_path):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups: [{{id: 5, master_task: 2}}, {{id: 5, master_task: 3}}]
    """)
    assert found == ["groups[1].id: group 5 is listed twice (also groups[0]); merge the two entries"]


@pytest.mark.parametrize("value", ["-3", "0", "true", "1.5", '"12"'])
def test_ids_must_be_positive_integers(tmp_path, value):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups: [{{id: {value}, master_task: 2}}]
    """)
    assert len(found) == 1 and found[0].startswith("groups[0].id: must be a positive integer")


def test_missing_groups_and_webhook(tmp_path):
    found = problems(tmp_path, "state_file: s.json\n")
    assert found[0].startswith("portal.webhook: missing")
    assert found[1].startswith("groups: missing")


def test_http_refused_except_loopback(tmp_path):
    found = problems(tmp_path, """
        portal: {webhook: "http://example.bitrix24.ru/rest/1/abcdsecret/"}
        groups: [{id: 1, master_task: 2}]
    """)
    assert found == ["portal.webhook: must use https (plain http is allowed only for loopback addresses); "
                     "got http://example.bitrix24.ru"]
    for loopback in ("127.0.0.1:8080", "localhost", "[::1]:9000"):
        config = load_config(write(tmp_path, f"""
            portal: {{webhook: "http://{loopback}/rest/1/abcdsecret/"}}
            groups: [{{id: 1, master_task: 2}}]
        """), environ={})
        assert config.webhook.startswith(f"http://{loopback}/")


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.20:8080", "172.16.3.4", "[fd00::1]", "169.254.1.1"])
def test_http_refused_for_private_addresses_too(tmp_path, host):
    found = problems(tmp_path, f"""
        portal: {{webhook: "http://{host}/rest/1/abcdsecret/"}}
        groups: [{{id: 1, master_task: 2}}]
    """)
    assert found == ["portal.webhook: must use https (plain http is allowed only for loopback addresses); "
                     f"got http://{host.strip('[').replace(']', '')}"]


@pytest.mark.parametrize("url, got", [
    ("ftp://example.bitrix24.ru/rest/1/abcdsecret/", "a URL starting with ftp:"),
    ("https:/example.bitrix24.ru/rest/1/abcdsecret/", "a URL starting with https:"),
    ("abcdsecret@example.bitrix24.ru/rest/1/", "something that is not a URL"),
    ("htps://user:abcdsecret@example.bitrix24.ru/", "a URL starting with htps:"),
])
def test_a_bad_scheme_is_named_without_printing_the_url(tmp_path, url, got):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{url}"}}
        groups: [{{id: 1, master_task: 2}}]
    """)
    assert found == [f"portal.webhook: must be a URL like https://YOUR.bitrix24.ru/rest/USER_ID/SECRET/, got {got}"]
    assert "abcdsecret" not in found[0] and "example.bitrix24.ru" not in found[0]


def test_a_password_in_the_address_is_never_shown(tmp_path):
    found = problems(tmp_path, """
        portal: {webhook: "https://user:abcdsecret@example.bitrix24.ru/rest/1/"}
        groups: [{id: 1, master_task: 2}]
    """)
    assert len(found) == 1 and "abcdsecret" not in found[0], found


def test_metrics_file_is_relative_to_the_config_and_must_end_in_prom(tmp_path):
    good = load_config(write(tmp_path, """
        portal: {webhook: "https://example.bitrix24.ru/rest/1/abcdsecret/"}
        metrics_file: metrics/b24mirror.prom
        groups: [{id: 1, master_task: 2}]
    """), environ={})
    assert good.metrics_file == str(tmp_path.resolve() / "metrics" / "b24mirror.prom")
    found = problems(tmp_path, """
        portal: {webhook: "https://example.bitrix24.ru/rest/1/abcdsecret/"}
        metrics_file: /var/lib/node_exporter/b24mirror.txt
        groups: [{id: 1, master_task: 2}]
    """)
    assert len(found) == 1 and found[0].startswith("metrics_file: must be a file path ending in .prom")


def test_webhook_shape_checked_and_secret_never_shown(tmp_path):
    found = problems(tmp_path, """
        portal: {webhook: "https://example.bitrix24.ru/rest/topsecretvalue"}
        groups: [{id: 1, master_task: 2}]
    """)
    assert len(found) == 1 and "topsecretvalue" not in found[0]
    assert "/rest/USER_ID/SECRET/" in found[0]


def test_env_overrides_webhook(tmp_path):
    config = load_config(write(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups: [{{id: 1, master_task: 2}}]
    """), environ={"B24MIRROR_WEBHOOK": "https://other.bitrix24.ru/rest/9/envsecret"})
    assert config.webhook == "https://other.bitrix24.ru/rest/9/envsecret/"
    assert config.masked_webhook == "https://other.bitrix24.ru/rest/9/***/"


def test_webhook_file_must_be_private(tmp_path):
    secret_file = tmp_path / "hook"
    secret_file.write_text(HOOK + "\n")
    secret_file.chmod(0o644)
    text = """
        portal: {webhook_file: hook}
        groups: [{id: 1, master_task: 2}]
    """
    found = problems(tmp_path, text)
    assert found == [f"portal.webhook_file: {secret_file} is readable by others (mode 644); run: chmod 600 {secret_file}"]
    secret_file.chmod(0o600)
    assert load_config(write(tmp_path, text), environ={}).webhook == HOOK



@pytest.mark.parametrize("mode", [0o640, 0o620, 0o610, 0o604, 0o602], ids=lambda m: f"{m:o}")
def test_webhook_file_readable_or_writable_by_its_group_or_others_is_refused(tmp_path, mode):
    """The file holds the secret: only its owner may touch it (0600 or 0400)."""
    secret_file = tmp_path / "hook"
    secret_file.write_text(HOOK + "\n")
    secret_file.chmod(mode)
    found = problems(tmp_path, """
        portal: {webhook_file: hook}
        groups: [{id: 1, master_task: 2}]
    """)
    assert found == [f"portal.webhook_file: {secret_file} is readable by others (mode {mode:o}); "
                     f"run: chmod 600 {secret_file}"]
    assert "s3cr3tcode" not in " ".join(found)


@pytest.mark.parametrize("value", [0, -1])
def test_max_posts_of_zero_or_less_is_refused(tmp_path, value):
    """A cap of 0 would post nothing, ever, and exit 0."""
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups: [{{id: 1, master_task: 2, max_posts: {value}}}]
    """)
    assert found == [f"groups[0].max_posts: must be an integer >= 1, got {value}"]

def test_webhook_and_webhook_file_together(tmp_path):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}", webhook_file: hook}}
        groups: [{{id: 1, master_task: 2}}]
    """)
    assert found == ["portal.webhook_file: give either portal.webhook or portal.webhook_file, not both"]


def test_rules_validated(tmp_path):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups:
          - id: 1
            master_task: 2
            rules:
              hide: ["(unclosed"]
              events: [status, colour]
              include_authors: [1, x]
              exclude_extranet: "yes"
    """)
    assert found[0] == "groups[0].rules.events: unknown event kind 'colour'; choose from status, deadline, subtask, responsible, title"
    assert found[1] == "groups[0].rules.exclude_extranet: must be true or false, got \"yes\""
    assert found[2].startswith('groups[0].rules.include_authors: must be a list of user ids')
    assert found[3].startswith("groups[0].rules.hide[0]: not a valid regular expression")


def test_choices_validated(tmp_path):
    found = problems(tmp_path, f"""
        portal: {{webhook: "{HOOK}", plan: premium}}
        language: de
        groups: [{{id: 1, master_task: 2, comments: forum, on_edit: rewrite}}]
    """)
    assert found == [
        "portal.plan: must be one of standard, enterprise, got \"premium\"",
        "language: must be one of ru, en, got \"de\"",
        "groups[0].comments: must be one of auto, classic, chat, got \"forum\"",
        "groups[0].on_edit: must be one of ignore, update, got \"rewrite\"",
    ]


def test_enterprise_plan_sets_its_rate(tmp_path):
    config = load_config(write(tmp_path, f"""
        portal: {{webhook: "{HOOK}", plan: enterprise}}
        groups: [{{id: 1, master_task: 2}}]
    """), environ={})
    assert (config.limits.burst, config.limits.per_second) == (250, 5.0)


@pytest.mark.parametrize("content, expected", [
    (b"\x00\xff\xfe binary", "not UTF-8 text"),
    (b"groups: [unclosed", "not valid YAML at line"),
    (b"- just\n- a list\n", "the file must be a mapping"),
])
def test_hostile_files(tmp_path, content, expected):
    path = tmp_path / "b24mirror.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert expected in str(info.value)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)
    )
    found = problems(tmp_path, bomb)
    assert any("unknown key" in p for p in found)


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml", environ={})
    assert "b24mirror init" in str(info.value) and "--config" in str(info.value)


def test_mask_webhook():
    assert mask_webhook(HOOK) == "https://example.bitrix24.ru/rest/1/***/"
    assert webhook_secret(HOOK) == "s3cr3tcode"


def test_config_repr_hides_secret(tmp_path):
    config = load_config(write(tmp_path, f"""
        portal: {{webhook: "{HOOK}"}}
        groups: [{{id: 1, master_task: 2}}]
    """), environ={})
    assert "s3cr3tcode" not in repr(config)
