"""Days, ISO weeks, months and years counted in the city's time zone."""

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from gridcase_contracts.codes import CITY_TIME_ZONE


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def city_time(at: float) -> datetime:
    """The wall-clock time in the city of a UTC epoch timestamp."""
    return datetime.fromtimestamp(at, tz=CITY_TIME_ZONE)


def period_key(at: float, interval: Interval) -> str:
    """The period containing `at`: 2027-01-01, 2026-W53, 2027-01 or 2027."""
    local = city_time(at)
    if interval is Interval.DAY:
        return local.date().isoformat()
    if interval is Interval.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if interval is Interval.MONTH:
        return f"{local.year}-{local.month:02d}"
    return str(local.year)


def city_midnight(day: date) -> float:
    """The epoch timestamp at which `day` starts in the city."""
    return datetime.combine(day, time(), tzinfo=CITY_TIME_ZONE).timestamp()


def year_window(year: int) -> tuple[float, float]:
    """Start (inclusive) and end (exclusive) of a calendar year in the city."""
    return city_midnight(date(year, 1, 1)), city_midnight(date(year + 1, 1, 1))


def window_bound(value: date | datetime, *, end: bool) -> float:
    """An API bound as a timestamp. A date means a whole city day: `from` starts at its
    midnight, `to` includes it (ends at the next midnight). A datetime is taken as is
    (naive ones in city time); as `to` it is exclusive."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=CITY_TIME_ZONE)
        return aware.astimezone(UTC).timestamp()
    return city_midnight(value + timedelta(days=1) if end else value)
