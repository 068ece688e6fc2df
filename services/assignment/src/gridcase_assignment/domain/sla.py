"""SLA policy: stage deadlines per category and severity."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from gridcase_assignment.domain.calendar import WorkingCalendar
from gridcase_contracts.codes import Category, Severity
from gridcase_contracts.events import StageDue


class StageHours(NamedTuple):
    """Hours allowed per stage; verify counts from the resolve deadline."""

    accept: float
    first_response: float
    resolve: float
    verify: float


@dataclass(frozen=True)
class SlaPolicy:
    """`defaults` per severity, `by_category` overrides per (category, severity).

    Critical cases count calendar hours, every other severity working hours (unless
    `working_calendar` is off, then every severity counts calendar hours). `scale`
    multiplies every duration (0.001 makes a 4-hour stage last 14.4 seconds)."""

    defaults: Mapping[Severity, StageHours]
    by_category: Mapping[tuple[Category, Severity], StageHours]
    scale: float = 1.0
    working_calendar: bool = True

    def hours(self, category: Category, severity: Severity) -> StageHours:
        return self.by_category.get((category, severity)) or self.defaults[severity]

    def counts_working_time(self, severity: Severity) -> bool:
        return self.working_calendar and severity != Severity.CRITICAL

    def due_dates(
        self,
        category: Category,
        severity: Severity,
        start: datetime,
        calendar: WorkingCalendar,
    ) -> StageDue:
        """Deadlines of every stage for a case whose clock starts at `start`."""
        hours = self.hours(category, severity)
        counts_working_time = self.counts_working_time(severity)

        def after(begin: datetime, stage_hours: float) -> datetime:
            duration = timedelta(hours=stage_hours * self.scale)
            if counts_working_time:
                return calendar.add_working_time(begin, duration)
            return begin + duration

        resolve = after(start, hours.resolve)
        return StageDue(
            accept=after(start, hours.accept),
            first_response=after(start, hours.first_response),
            resolve=resolve,
            verify=after(resolve, hours.verify),
        )
