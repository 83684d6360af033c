"""digest: and checklist: keys, validated with errors that say what to write."""
from pathlib import Path

import pytest

from b24mirror.config.load import ConfigError, validate
from b24mirror.config.settings import DigestConfig

HOOK = "https://example.bitrix24.ru/rest/1/s3cr3tcode/"


def group_config(**keys):
    data = {"portal": {"webhook": HOOK}, "groups": [{"id": 4, "master_task": 1001, **keys}]}
    return validate(data, base_dir=Path("/tmp"), environ={}).groups[0]


def problems(**keys) -> str:
    with pytest.raises(ConfigError) as caught:
        group_config(**keys)
    return "\n".join(caught.value.problems)


def test_periods_and_times_of_day_are_read():
    assert group_config(digest={"every": "1h"}).digest == DigestConfig(every=3600)
    assert group_config(digest={"every": "30m", "now": ["completed", "deadline"]}).digest.now == ("completed", "deadline")
    assert group_config(digest={"every": "1d"}).digest.every == 86400
    # YAML 1.1 reads an unquoted 14:00 as 840: the same time of day
    assert group_config(digest={"every": ["09:00", 840]}).digest.times == ((9, 0), (14, 0))
    assert group_config().digest is None and group_config(checklist=True).checklist is True


@pytest.mark.parametrize("digest, said", [
    ({"every": "hourly"}, "groups[0].digest.every: must be a period like 30m, 1h or 1d"),
    ({"every": "1m"}, "shorter than 5m"),
    ({}, "groups[0].digest.every: missing"),
    ({"every": ["25:00"]}, "groups[0].digest.every[0]: must be a time of day HH:MM"),
    ({"every": "1h", "now": ["closed"]}, "unknown kind 'closed'; choose from status"),
    ({"every": "1h", "evry": 1}, "groups[0].digest.evry: unknown key; did you mean 'every'?"),
    ("1h", "groups[0].digest: must be a mapping with every:"),
])
def test_a_bad_digest_says_what_is_wrong(digest, said):
    assert said in problems(digest=digest)


def test_checklist_must_be_a_boolean():
    assert "groups[0].checklist: must be true or false" in problems(checklist="yes")
