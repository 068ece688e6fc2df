"""Working-calendar maths and SLA deadlines."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from gridcase_assignment.adapters.seed_files import (
    load_calendar,
    load_sla_policy,
    national_calendar,
)
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.calendar import WorkingCalendar, parse_periods
from gridcase_contracts.codes import CITY_TIME_ZONE, Category, Severity

HOURS = parse_periods("09:00-12:00,13:30-17:30")
PLAIN = WorkingCalendar(HOURS)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CITY_TIME_ZONE)


def after(calendar: WorkingCalendar, start: datetime, hours: float) -> datetime:
    return calendar.add_working_time(start, timedelta(hours=hours)).astimezone(CITY_TIME_ZONE)


def test_time_runs_only_within_working_hours() -> None:
    assert after(PLAIN, local(2026, 3, 4, 10, 0), 1) == local(2026, 3, 4, 11, 0)
    assert after(PLAIN, local(2026, 3, 4, 11, 0), 2) == local(2026, 3, 4, 14, 30)  # lunch
    assert after(PLAIN, local(2026, 3, 4, 12, 45), 1) == local(2026, 3, 4, 14, 30)
    assert after(PLAIN, local(2026, 3, 4, 17, 0), 1) == local(2026, 3, 5, 9, 30)  # overnight
    assert after(PLAIN, local(2026, 3, 4, 6, 0), 3) == local(2026, 3, 4, 12, 0)  # ends at noon


def test_weekends_do_not_count() -> None:
    friday_4pm = local(2026, 3, 6, 16, 0)
    assert after(PLAIN, friday_4pm, 2) == local(2026, 3, 9, 9, 30)
    assert after(PLAIN, local(2026, 3, 7, 10, 0), 1) == local(2026, 3, 9, 10, 0)


def test_public_holidays_are_skipped_and_make_up_days_worked() -> None:
    calendar = WorkingCalendar(
        HOURS, holidays=frozenset({date(2026, 3, 9)}), makeup_days=frozenset({date(2026, 3, 7)})
    )
    friday_4pm = local(2026, 3, 6, 16, 0)
    assert after(calendar, friday_4pm, 2) == local(2026, 3, 7, 9, 30)  # Saturday make-up day
    assert after(calendar, friday_4pm, 1.5 + 7 + 1) == local(2026, 3, 10, 10, 0)  # Monday off


def test_the_seeded_calendar_knows_the_spring_festival() -> None:
    calendar = load_calendar(AssignmentSettings())
    assert not calendar.is_working_day(date(2026, 2, 16))
    assert calendar.is_working_day(date(2026, 2, 14))  # a Saturday make-up day
    eve = local(2026, 2, 13, 17, 0)
    assert after(calendar, eve, 1) == local(2026, 2, 14, 9, 30)
    assert after(calendar, local(2026, 2, 14, 17, 0), 1) == local(2026, 2, 24, 9, 30)


def test_the_national_calendar_holds_the_published_notices_and_estimates_later_years() -> None:
    holidays, makeup_days, covered_until = national_calendar(range(2024, 2030))
    assert date(2025, 10, 8) in holidays
    assert {date(2025, 1, 26), date(2026, 2, 28)} <= makeup_days
    assert covered_until == date(2026, 12, 31)
    spring_festival_2027 = {date(2027, 2, day) for day in range(5, 11)}
    assert spring_festival_2027 <= holidays
    assert not any(day.year > 2026 for day in makeup_days)


def test_the_calendar_file_adds_the_citys_days_and_may_extend_the_coverage(
    tmp_path: Path,
) -> None:
    calendar_file = tmp_path / "calendar.yaml"
    calendar_file.write_text(
        'working_hours: "09:00-17:00"\nholidays: [2027-03-01]\n'
        "makeup_days: [2027-02-13]\ncovered_until: 2027-12-31\n"
    )
    calendar = load_calendar(AssignmentSettings(calendar_file=calendar_file), date(2026, 11, 30))
    assert not calendar.is_working_day(date(2027, 3, 1))
    assert calendar.is_working_day(date(2027, 2, 13))
    assert not calendar.is_working_day(date(2027, 2, 8))  # the national holidays stay
    assert calendar.covered_until == date(2027, 12, 31)
    assert calendar.covers(local(2027, 12, 31, 23, 0))
    assert not calendar.covers(local(2028, 1, 1, 0, 0))
    assert calendar.coverage_ends() == local(2027, 12, 31, 23, 59, 59, 999999)


def test_the_seeded_calendar_covers_the_published_years_only() -> None:
    calendar = load_calendar(AssignmentSettings(), date(2026, 11, 30))
    assert calendar.covered_until == date(2026, 12, 31)
    assert not calendar.is_working_day(date(2027, 2, 9))  # estimated: Spring Festival


def test_a_start_is_returned_in_utc() -> None:
    due = PLAIN.add_working_time(datetime(2026, 3, 4, 2, 0, tzinfo=UTC), timedelta(hours=1))
    assert due == datetime(2026, 3, 4, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("9-12", "HH:MM"), ("12:00-09:00", "end before"), ("09:00-12:00,11:00-13:00", "overlap")],
)
def test_bad_working_hours_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_periods(text)


def test_a_calendar_without_working_days_says_so() -> None:
    all_holidays = frozenset(date(2026, 1, 1) + timedelta(days) for days in range(4000))
    never = WorkingCalendar(((time(9), time(10)),), holidays=all_holidays)
    with pytest.raises(ValueError, match="no working time"):
        never.add_working_time(local(2026, 1, 1, 9), timedelta(hours=1))


def test_critical_cases_count_calendar_hours() -> None:
    policy = load_sla_policy(AssignmentSettings())
    friday_5pm = local(2026, 3, 6, 17, 0)
    critical = policy.due_dates(Category.SANITATION, Severity.CRITICAL, friday_5pm, PLAIN)
    assert critical.accept == friday_5pm + timedelta(hours=1)
    assert critical.resolve == friday_5pm + timedelta(hours=24)
    assert critical.verify == friday_5pm + timedelta(hours=32)
    high = policy.due_dates(Category.SANITATION, Severity.HIGH, friday_5pm, PLAIN)
    assert high.accept.astimezone(CITY_TIME_ZONE) == local(2026, 3, 9, 14, 0)  # 0.5 h + 3.5 h


def test_category_overrides_and_scale() -> None:
    settings = AssignmentSettings(sla_scale=0.001, sla_working_calendar=False)
    policy = load_sla_policy(settings)
    start = local(2026, 3, 7, 23, 0)  # Saturday night: calendar time all the same
    fire = policy.due_dates(Category.FIRE_SAFETY, Severity.HIGH, start, PLAIN)
    assert fire.accept == start + timedelta(seconds=2 * 3.6)  # fire-safety high: 2 h
    other = policy.due_dates(Category.OTHER, Severity.HIGH, start, PLAIN)
    assert other.accept == start + timedelta(seconds=4 * 3.6)
