"""Builds intake from real adapters, or from the fakes a unit test passes in."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gridcase_intake import handlers
from gridcase_intake.adapters.repository import (
    MongoCaseViews,
    MongoIdempotencyKeys,
    MongoRateLimits,
)
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.geography import Geography
from gridcase_intake.domain.rate_limit import reader_key
from gridcase_intake.ports import CaseViews, IdempotencyKeys, Photos, Publisher, RateLimits
from gridcase_runtime.boundaries import Boundaries, load_boundaries
from gridcase_runtime.kafka import Delivery
from gridcase_runtime.mongo import MongoDatabase
from gridcase_runtime.photos import PhotoStore


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
    clock: Callable[[], datetime] = utc_now
    boundaries: Boundaries = field(init=False)
    geography: Geography = field(init=False)

    def __post_init__(self) -> None:
        self.boundaries = load_boundaries(self.settings.boundaries_file)
        self.geography = geography_of(self.settings.boundaries_file)

    async def submit(
        self, submission: handlers.Submission, render: handlers.Render
    ) -> handlers.Outcome:
        return await handlers.submit_report(
            submission,
            render,
            publisher=self.publisher,
            cases=self.cases,
            keys=self.keys,
            photos=self.photos,
            limits=self.limits,
            geography=self.geography,
            settings=self.settings,
            clock=self.clock,
        )

    async def project(self, deliveries: list[Delivery]) -> None:
        await handlers.project_events(deliveries, cases=self.cases)

    async def admit_reader(self, address: str) -> float | None:
        """Counts an anonymous Open311 read from `address`: None if allowed, else the
        seconds to wait."""
        return await self.limits.acquire(
            reader_key(address), self.settings.open311_reads_per_minute
        )

    async def sweep(self) -> int:
        return await handlers.sweep_expired(keys=self.keys, limits=self.limits, clock=self.clock)


def bootstrap(settings: IntakeSettings, database: MongoDatabase, publisher: Publisher) -> Intake:
    """Intake on the real MongoDB database and the given Kafka publisher."""
    return Intake(
        settings=settings,
        publisher=publisher,
        cases=MongoCaseViews(database),
        keys=MongoIdempotencyKeys(database),
        photos=PhotoStore(database),
        limits=MongoRateLimits(database),
    )


async def create_indexes(database: MongoDatabase) -> None:
    await MongoCaseViews(database).create_indexes()
    await MongoIdempotencyKeys(database).create_indexes()
    await MongoRateLimits(database).create_indexes()
    await PhotoStore(database).create_indexes()
