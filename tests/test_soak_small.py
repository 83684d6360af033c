"""A short fault soak in the suite: the same scenario and oracle as `make soak`, fewer cycles."""
import pytest

from tests.soak import run_soak

pytestmark = pytest.mark.e2e


def test_short_soak_loses_nothing_duplicates_nothing_leaks_nothing(tmp_path):
    figures = run_soak(cycles=14, seed=3, tmp=tmp_path, log=lambda line: None)
    table = figures.table()
    assert figures.eligible > 10, table
    assert figures.faults_injected > 0 and figures.kills > 0 and figures.overlaps > 0, table
    assert figures.faults_by_kind["lost_response"] > 0, table
    assert figures.state_deleted > 0 and figures.state_truncated > 0, table
    assert figures.duplicates == 0, table
    assert figures.losses == 0, table
    assert figures.leaks == 0 and figures.text_leaks == 0, table
    assert figures.tracebacks == 0, table
    assert figures.secret_seen == 0, table
    assert figures.mirrored == figures.eligible, table
