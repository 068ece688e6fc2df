"""Builds intake's components from its settings: real adapters (or the fakes a unit test
passes in), the publisher and the workers."""

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gridcase_contracts.codes import Service
from gridcase_intake import handlers
from gridcase_intake.adapters.repository import (
    MongoApiKeys,
    MongoCaseViews,
    MongoIdempotencyKeys,
    MongoRateLimits,
)
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.api_keys import ApiKeyRecord, genuine, issue, key_id_of
from gridcase_intake.domain.geography import Geography
from gridcase_intake.domain.rate_limit import reader_key
from gridcase_intake.entrypoints.consumer import build_consumer, key_sweeper
from gridcase_intake.ports import (
    ApiKeys,
    CaseViews,
    IdempotencyKeys,
    Photos,
    Publisher,
    RateLimits,
)
from gridcase_runtime.boundaries import Boundaries, load_boundaries
from gridcase_runtime.health import ReadinessCheck, kafka_reachable
from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_runtime.kafka_consumer import EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, close, connect, ping
from gridcase_runtime.photos import PhotoStore
from gridcase_runtime.service import case_events_publisher
from gridcase_runtime.workers import Worker


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

    def __post_init__(self) -> None:
        self.boundaries = load_boundaries(self.settings.boundaries_file)
        self.geography = geography_of(self.settings.boundaries_file)

    async def submit(
        self, submission: handlers.Submission, render: handlers.Render
    ) -> handlers.Outcome:
        """`handlers.submit_report` on these adapters, each refusal counted."""
        try:
            return await handlers.submit_report(submission, render, self)
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


def real_intake(settings: IntakeSettings, database: MongoDatabase, publisher: Publisher) -> Intake:
    """Intake on the real MongoDB database and the given Kafka publisher."""
    return Intake(
        settings=settings,
        publisher=publisher,
        cases=MongoCaseViews(database),
        keys=MongoIdempotencyKeys(database),
        photos=PhotoStore(database),
        limits=MongoRateLimits(database),
        api_keys=MongoApiKeys(database),
    )


async def create_indexes(database: MongoDatabase) -> None:
    await MongoCaseViews(database).create_indexes()
    await MongoIdempotencyKeys(database).create_indexes()
    await MongoRateLimits(database).create_indexes()
    await PhotoStore(database).create_indexes()


@dataclass(frozen=True)
class Components:
    """What the API and the workers use, built once per process."""

    settings: IntakeSettings
    database: MongoDatabase
    publisher: EventPublisher
    intake: Intake
    consumer: EventConsumer

    async def prepare(self) -> None:
        """Topics and indexes."""
        await ensure_case_topics(self.settings)
        await create_indexes(self.database)

    def workers(self) -> list[Worker]:
        return [
            Worker("intake-case-events", self.consumer.run, self.consumer.stop),
            key_sweeper(self.intake.sweep, self.settings.sweep_interval_s).worker,
        ]

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        return {
            "kafka": kafka_reachable(self.settings.kafka_bootstrap_servers),
            "kafka-producer": self.publisher.check_ready,
            "mongodb": functools.partial(ping, self.database),
        }

    async def close(self) -> None:
        await asyncio.to_thread(self.publisher.close)
        close(self.database)


def bootstrap(settings: IntakeSettings, intake: Intake | None = None) -> Components:
    """Wires the service (on `intake`'s adapters when given); nothing connects until used."""
    database = connect(settings.mongodb_url, settings.mongodb_database)
    publisher = case_events_publisher(
        settings, Service.INTAKE, ack_timeout_s=settings.publish_timeout_s
    )
    intake = intake or real_intake(settings, database, publisher)
    return Components(
        settings, database, publisher, intake, build_consumer(settings, intake.cases, publisher)
    )
