"""report: read into periods and moments, with errors that say what to write; the periods it makes."""
from datetime import datetime, timedelta, timezone

from b24mirror.config.settings import ReportConfig
from b24mirror.policy.report import due, last_period
from tests.test_configdigest import group_config, problems

MSK = timezone(timedelta(hours=3))


def test_periods_and_moments_are_read():
    assert group_config(report={"every": "1w"}).report == ReportConfig(every=7 * 86400)
    assert group_config(report={"every": "2d"}).report.every == 2 * 86400
    assert group_config(report={"every": ["Mon 09:00", "thu 17:30"]}).report.times == ((0, 9, 0), (3, 17, 30))
    assert group_config(report={"every": ["09:00", 540]}).report.times == ((None, 9, 0),)  # 540: YAML's 09:00
    assert group_config().report is None


def test_mistakes_are_named_with_the_fix():
    assert "report.every: must be a period like 1d or 1w" in problems(report={"every": "weekly"})
    assert 'report.every[0]: must be a time "HH:MM" or a weekday and time "Mon 09:00"' in problems(
        report={"every": ["Funday 09:00"]})
    assert "shorter than 1h" in problems(report={"every": "0h"})
    assert "report.often: unknown key" in problems(report={"every": "1w", "often": 1}).replace("'", "")


def test_a_week_runs_monday_to_monday_in_the_portals_zone_and_moments_bound_periods():
    thursday = datetime(2026, 12, 3, 10, 0, tzinfo=MSK)
    week = last_period(ReportConfig(every=7 * 86400), thursday)
    assert (week.start, week.end) == (datetime(2026, 11, 23, tzinfo=MSK), datetime(2026, 11, 30, tzinfo=MSK))
    twice = last_period(ReportConfig(times=((0, 9, 0), (3, 9, 0))), thursday)
    assert (twice.start, twice.end, twice.next_end) == (datetime(2026, 11, 30, 9, 0, tzinfo=MSK),
                                                        datetime(2026, 12, 3, 9, 0, tzinfo=MSK),
                                                        datetime(2026, 12, 7, 9, 0, tzinfo=MSK))


def test_a_report_is_due_once_per_period_and_only_for_a_whole_period_of_mirroring():
    config, now = ReportConfig(every=7 * 86400), datetime(2026, 12, 3, 10, 0, tzinfo=MSK)
    begun = datetime(2026, 11, 20, tzinfo=MSK)
    period = due(config, now, None, begun)
    assert period is not None and due(config, now, int(period.end.timestamp()), begun) is None
    assert due(config, now, None, datetime(2026, 11, 25, tzinfo=MSK)) is None  # mirroring began mid-period
    assert due(None, now, None, begun) is None
