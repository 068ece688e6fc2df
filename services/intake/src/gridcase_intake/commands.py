"""Intake's commands bound to their adapters: what the routes and the workers call."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gridcase_intake import handlers
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.api_keys import ApiKeyRecord, genuine, issue, key_id_of
from gridcase_intake.domain.geography import Geography
from gridcase_intake.domain.rate_limit import reader_key
from gridcase_intake.ports import ApiKeys, CaseViews, IdempotencyKeys, Photos, Publisher, RateLimits
from gridcase_runtime.boundaries import Boundaries, load_boundaries


def utc_now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def geography_of(boundaries_file: Path) -> Geography:
    """The city's districts and communities as shapes, built once per process."""
    return Geography(load_boundaries(boundaries_file))


@dataclass
class Intake:
    """The service's dependencies, and its commands bound to them."""

    settings: IntakeSettings
    publisher: Publisher
    cases: CaseViews
    keys: IdempotencyKeys
    photos: Photos
    limits: RateLimits
    api_keys: ApiKeys
    clock: Callable[[], datetime] = utc_now
    boundaries: Boundaries = field(init=False)
    geography: Geography = field(init=False)
    in_work: int = field(default=0, init=False)
    """Submissions being worked on now."""

    def __post_init__(self) -> None:
        self.boundaries = load_boundaries(self.settings.boundaries_file)
        self.geography = geography_of(self.settings.boundaries_file)

    async def submit(
        self, submission: handlers.Submission, render: handlers.Render
    ) -> handlers.Outcome:
        """`handlers.submit_report` on these adapters, each refusal counted; refused with
        OverloadedError while `max_reports_in_work` others are being worked on."""
        try:
            if self.in_work >= self.settings.max_reports_in_work:
                raise handlers.OverloadedError("too many reports at once")
            self.in_work += 1
            try:
                return await handlers.submit_report(submission, render, self)
            finally:
                self.in_work -= 1
        except tuple(handlers.REFUSALS) as error:
            handlers.count_refusal(error, submission)
            raise

    async def issue_api_key(self, name: str, *, by: str) -> tuple[str, ApiKeyRecord]:
        """A new Open311 api key (returned once) and its stored record."""
        api_key, record = issue(name, by=by, now=self.clock())
        await self.api_keys.insert(record)
        return api_key, record

    async def api_key_client(self, api_key: str) -> str | None:
        """The client name of a genuine, unrevoked api_key (its record is read on every use,
        so a revocation holds at once on every replica); None otherwise."""
        key_id = key_id_of(api_key)
        record = await self.api_keys.get(key_id) if key_id else None
        return record.name if record and genuine(record, api_key) else None

    async def admit_reader(self, address: str) -> float | None:
        """Counts an anonymous Open311 read from `address`: None if allowed, else the
        seconds to wait."""
        return await self.limits.acquire(
            reader_key(address), self.settings.open311_reads_per_minute
        )

    async def sweep(self) -> int:
        return await handlers.sweep_expired(keys=self.keys, limits=self.limits, clock=self.clock)
