"""A short lifetime soak in the suite: the same year and oracle as `make soak`, squeezed into a few days, so every
kind of happening (a rule added and repaired, the card switch, a backfill stopped by SIGINT and SIGTERM, lost
states, people and tasks moving) is met once."""
import pytest

from tests.soak_year import run_year

pytestmark = pytest.mark.e2e


def test_a_short_year_loses_nothing_duplicates_nothing_leaks_nothing(tmp_path):
    figures = run_year(days=6, seed=1, tmp=tmp_path, log=lambda line: None)
    table, met = figures.table(), figures.happenings
    for happening in ("rules added", "card switch", "SIGINT mid-backfill", "SIGTERM mid-backfill", "state lost"):
        assert met[happening] >= 1, f"{happening} never happened\n{table}"
    assert met["repair runs"] >= 1, table  # the rule made earlier mirrors leaks, and repair removed them
    assert any(k.startswith("member ") for k in met) and any(k.startswith("task moved ") for k in met), table
    assert figures.eligible > 50 and figures.mirrors > 50, table
    assert figures.duplicates == 0, table
    assert figures.losses == 0, table
    assert figures.leaks == 0 and figures.text_leaks == 0, table
    assert figures.tracebacks == 0 and figures.secret_seen == 0, table
