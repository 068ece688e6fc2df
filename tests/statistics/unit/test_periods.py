"""Days, weeks, months and years are counted in Asia/Shanghai."""

from datetime import UTC, date, datetime

from gridcase_stats.domain.periods import Interval, period_key, window_bound, year_window


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_an_event_late_on_new_years_eve_utc_belongs_to_the_next_city_year() -> None:
    at = ts("2026-12-31T16:30:00+00:00")
    assert period_key(at, Interval.YEAR) == "2027"
    assert period_key(at, Interval.MONTH) == "2027-01"
    assert period_key(at, Interval.DAY) == "2027-01-01"
    assert period_key(at, Interval.WEEK) == "2026-W53"


def test_just_before_city_midnight_stays_in_the_old_year() -> None:
    at = ts("2026-12-31T15:59:59+00:00")
    assert period_key(at, Interval.YEAR) == "2026"
    assert period_key(at, Interval.DAY) == "2026-12-31"


def test_iso_weeks_start_on_monday_in_the_city() -> None:
    sunday_night_utc = ts("2026-05-03T16:00:00+00:00")  # Monday 00:00 in the city
    assert period_key(sunday_night_utc, Interval.WEEK) == "2026-W19"
    assert period_key(sunday_night_utc - 1, Interval.WEEK) == "2026-W18"


def test_a_city_year_starts_at_city_midnight() -> None:
    start, end = year_window(2027)
    assert datetime.fromtimestamp(start, tz=UTC) == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert datetime.fromtimestamp(end, tz=UTC) == datetime(2027, 12, 31, 16, tzinfo=UTC)


def test_date_bounds_cover_whole_city_days() -> None:
    assert window_bound(date(2026, 5, 4), end=False) == ts("2026-05-03T16:00:00+00:00")
    assert window_bound(date(2026, 5, 4), end=True) == ts("2026-05-04T16:00:00+00:00")
    assert window_bound(datetime(2026, 5, 4, 12, 0, tzinfo=UTC), end=True) == ts(
        "2026-05-04T12:00:00+00:00"
    )
    assert window_bound(datetime(2026, 5, 4, 8, 0), end=False) == ts("2026-05-04T00:00:00+00:00")
