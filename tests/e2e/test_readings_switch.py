"""B24M_TEST_READINGS sets the readings of every world the e2e tests build; a test's own readings win."""
import pytest

from .conftest import READINGS_ENV, build_world

pytestmark = pytest.mark.e2e


@pytest.fixture
def worlds(tmp_path, monkeypatch):
    monkeypatch.setenv(READINGS_ENV, "date_format=iso, list_chat_id")
    built = []

    def build(**how):
        built.append(build_world(tmp_path, **how))
        return built[-1].portal.readings

    yield build
    for w in built:
        w.server.shutdown()


def test_every_world_takes_the_environments_readings_and_a_tests_own_win(worlds):
    plain = worlds()
    assert (plain["date_format"], plain["list_chat_id"]) == ("iso", "present")
    assert plain["history_default_order"] == "asc"  # a reading nobody names keeps its default
    own = worlds(readings={"list_chat_id": "absent", "history_default_order": "desc"})
    assert (own["date_format"], own["list_chat_id"], own["history_default_order"]) == ("iso", "absent", "desc")


def test_an_unknown_reading_in_the_environment_is_named_with_the_known_ones(worlds, monkeypatch):
    monkeypatch.setenv(READINGS_ENV, "date_fromat=iso")
    with pytest.raises(ValueError, match="unknown reading 'date_fromat'; known readings: .*date_format"):
        worlds()
