"""The (group, target) lanes outside the engine: their state keys and their metrics."""
from types import SimpleNamespace

from b24mirror.config.settings import GroupConfig, lane_group
from b24mirror.ops.metrics import render
from b24mirror.policy.models import Marker
from b24mirror.state import open_state, read_state
from b24mirror.sync.records import GroupReport

MASTER = GroupConfig(id=42, master_task=1001)
INTERNAL = GroupConfig(id=42, master_task=1001, target=1001, target_name="internal")
CUSTOMER = GroupConfig(id=42, master_task=1001, target=900, target_name="customer")
MARKER = Marker("comment", 1002, 7)


def test_each_target_keeps_its_own_ledger_and_the_master_keeps_the_plain_group_id(tmp_path):
    path = tmp_path / "state.db"
    with open_state(path) as state:  # written as before targets: the group's plain id
        state.group(MASTER.lane).record_post(MARKER, 5001, "2026-01-05T10:00:00+00:00")
    assert MASTER.lane == INTERNAL.lane == 42
    assert CUSTOMER.lane != 42 and lane_group(CUSTOMER.lane) == 42
    with open_state(path) as state:  # the same entry with targets: the master's lane finds its ledger as it was
        assert state.group(INTERNAL.lane).has(MARKER)
        assert not state.group(CUSTOMER.lane).has(MARKER)
        state.group(CUSTOMER.lane).record_post(MARKER, 6001, "2026-01-05T10:05:00+00:00")
    lanes = read_state(path).groups()
    assert {key: g.ledger[str(MARKER)]["id"] for key, g in lanes.items()} == {42: 5001, CUSTOMER.lane: 6001}


def test_metrics_name_the_target_of_each_lane():
    reports = [GroupReport(42, posted={"comment": 2}, lane=INTERNAL.lane, target=1001),
               GroupReport(42, posted={"comment": 1}, lane=CUSTOMER.lane, target=900)]
    run = SimpleNamespace(reports=reports, last_success={}, duration=1.0,
                          stats=SimpleNamespace(requests=3, refused_503=0))
    text = render(run, [INTERNAL, CUSTOMER], 0, now=0)
    assert 'b24mirror_mirrors_posted{group="42",target="1001"} 2' in text
    assert 'b24mirror_mirrors_posted{group="42",target="900"} 1' in text
    assert 'b24mirror_mirrors_posted{group="42"} ' not in text
    plain = render(SimpleNamespace(reports=[GroupReport(42, posted={"comment": 2})], last_success={}, duration=1.0,
                                   stats=SimpleNamespace(requests=1, refused_503=0)), [MASTER], 0, now=0)
    assert 'b24mirror_mirrors_posted{group="42"} 2' in plain
