"""A short fault soak in the suite: the same scenario and oracle as `make soak`, enough cycles to meet every
targeted fault (tests/soak_faults.py) once."""
import pytest

from tests.soak import run_soak
from tests.soak_faults import KINDS

pytestmark = pytest.mark.e2e


def test_short_soak_loses_nothing_duplicates_nothing_leaks_nothing(tmp_path):
    figures = run_soak(cycles=2 * len(KINDS), seed=3, tmp=tmp_path, log=lambda line: None)
    table = figures.table()
    assert figures.eligible > 2500, table  # the big chat alone brings 2,500
    assert figures.faults_injected > 0 and figures.kills > 0 and figures.overlaps > 0, table
    assert figures.faults_by_kind["lost_response"] > 0, table
    assert figures.faults_by_kind["refused post (command)"] >= 3, table  # refused until quarantined
    assert figures.state_deleted > 0 and figures.state_truncated > 0, table
    for kind in KINDS:
        assert figures.converge.get(kind), f"{kind} never met\n{table}"
    assert figures.not_converged == 0, table
    assert figures.lost_by_rule >= 1, table  # the refused post at least
    assert figures.duplicates == 0, table
    assert figures.losses == 0, table
    assert figures.leaks == 0 and figures.text_leaks == 0, table
    assert figures.tracebacks == 0, table
    assert figures.secret_seen == 0, table
    assert figures.mirrored + figures.lost_by_rule == figures.eligible, table
