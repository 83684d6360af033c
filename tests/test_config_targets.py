"""The `targets:` key of a group entry: one lane per target, the entry's keys under the target's own."""
import textwrap

import pytest

from b24mirror.config.load import ConfigError, load_config
from b24mirror.config.settings import lane_group

HOOK = "https://example.bitrix24.ru/rest/1/s3cr3tcode/"


def load(tmp_path, groups: str):
    path = tmp_path / "b24mirror.yaml"
    path.write_text(textwrap.dedent(f"""
        portal: {{webhook: "{HOOK}"}}
        groups:
    """) + textwrap.indent(textwrap.dedent(groups), "  "))
    return load_config(path, environ={})


def problems(tmp_path, groups: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, groups)
    return info.value.problems


def test_each_target_is_a_lane_with_its_own_keys_over_the_group_entry(tmp_path):
    config = load(tmp_path, """
        - id: 42
          master_task: 1001
          language: en
          rules: {exclude_extranet: true, redact: ["\\\\d{4}-\\\\d{4}"]}
          targets:
            - {task: 1001, name: internal}
            - {task: 900, name: customer, language: ru, checklist: true, rules: {hide: ["(?i)price"]},
               report: {every: 1w}}
    """)
    internal, customer = config.groups
    assert (internal.master_task, internal.target_task, internal.lane) == (1001, 1001, 42)
    assert (customer.master_task, customer.target_task) == (1001, 900)
    assert customer.lane != 42 and lane_group(customer.lane) == 42
    assert (internal.language, customer.language) == ("en", "ru")
    assert (internal.checklist, customer.checklist) == (False, True)
    assert internal.report is None and customer.report.every == 7 * 86400
    # a target's rules keys replace the entry's same keys; the others stay
    assert [p.pattern for p in customer.rules.hide_patterns] == ["(?i)price"]
    assert customer.rules.exclude_extranet and customer.rules.redact_patterns == internal.rules.redact_patterns
    assert customer.label == 'group 42 → task 900 "customer"'


def test_without_targets_the_entry_is_the_master_itself(tmp_path):
    [group] = load(tmp_path, "- {id: 42, master_task: 1001}").groups
    assert (group.target_task, group.lane, group.label) == (1001, 42, "group 42")


def test_bad_targets_are_named_by_their_key_path(tmp_path):
    found = problems(tmp_path, """
        - id: 42
          master_task: 1001
          targets:
            - {task: 900, name: customer, hide: ["price"]}
            - {task: 900, name: again}
            - {name: no task}
            - {task: 901, name: [not, a, name], language: xx}
        - {id: 43, master_task: 2001, targets: [{task: 901}]}
        - {id: 44, master_task: 3001, targets: []}
    """)
    joined = "\n".join(found)
    assert "groups[0].targets[0].hide: unknown key" in joined
    assert "groups[0].targets[1].task: task 900 is a target twice (also groups[0].targets[0])" in joined
    assert "groups[0].targets[2].task: missing" in joined
    assert "groups[0].targets[3].name: must be a text" in joined
    assert "groups[0].targets[3].language:" in joined
    assert "groups[1].targets[0].task: task 901 is a target twice (also groups[0].targets[3])" in joined
    assert "groups[2].targets: must be a non-empty list" in joined


def test_a_target_that_is_another_groups_master_is_refused(tmp_path):
    found = problems(tmp_path, """
        - id: 42
          master_task: 1001
          targets: [{task: 1001}, {task: 2001, name: customer}]
        - id: 43
          master_task: 2001
    """)
    assert any(p.startswith("groups[0].targets[1].task") and "master task of group 43 (groups[1])" in p
               for p in found), found
    # The same group's own master listed as a target is what `task: <master_task>` means: not a problem.
    assert not any("targets[0]" in p for p in found), found
