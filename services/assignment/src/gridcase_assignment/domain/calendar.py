"""The working calendar: working hours, weekends, public holidays and make-up working days."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gridcase_contracts.codes import CITY_TIME_ZONE

SEARCH_LIMIT_DAYS = 3660
"""A deadline further than ten years of calendar away means the calendar has no working time."""


def parse_periods(text: str) -> tuple[tuple[time, time], ...]:
    """'09:00-12:00,13:30-17:30' -> ((09:00, 12:00), (13:30, 17:30)), checked for order."""
    periods: list[tuple[time, time]] = []
    for part in text.split(","):
        opens, _, closes = part.strip().partition("-")
        try:
            period = (time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip()))
        except ValueError as error:
            raise ValueError(f"working hours {part.strip()!r} are not HH:MM-HH:MM") from error
        if period[0] >= period[1]:
            raise ValueError(f"working hours {part.strip()!r} end before they start")
        if periods and period[0] < periods[-1][1]:
            raise ValueError(f"working hours {part.strip()!r} overlap the period before")
        periods.append(period)
    if not periods:
        raise ValueError("working hours need at least one period")
    return tuple(periods)


@dataclass(frozen=True)
class WorkingCalendar:
    """Monday to Friday within `periods`, except `holidays`; `makeup_days` (调休) are
    working days even on a weekend. Up to `covered_until` the holidays and make-up days
    are the published ones; after it, only estimated statutory holidays (if any) are known."""

    periods: tuple[tuple[time, time], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_days: frozenset[date] = field(default_factory=frozenset)
    covered_until: date = date.max
    zone: ZoneInfo = CITY_TIME_ZONE

    def coverage_ends(self) -> datetime:
        """The instant the last published day ends (UTC)."""
        return datetime.combine(self.covered_until, time.max, self.zone).astimezone(UTC)

    def covers(self, moment: datetime) -> bool:
        """Whether `moment` falls on a day whose holidays and make-up days are published."""
        return moment.astimezone(self.zone).date() <= self.covered_until

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of working time has passed since `start` (UTC)."""
        if duration <= timedelta(0):
            return start.astimezone(UTC)
        remaining = duration
        local = start.astimezone(self.zone)
        day = local.date()
        for _ in range(SEARCH_LIMIT_DAYS):
            if self.is_working_day(day):
                for opens, closes in self.periods:
                    period_end = datetime.combine(day, closes, self.zone)
                    begin = max(local, datetime.combine(day, opens, self.zone))
                    if begin >= period_end:
                        continue
                    if remaining <= period_end - begin:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= period_end - begin
            day += timedelta(days=1)
        raise ValueError("the working calendar has no working time within ten years")
