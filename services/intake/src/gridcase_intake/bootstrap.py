"""Builds intake's components from its settings: real adapters (or the fakes a unit test
passes in), the publisher and the workers."""

import asyncio
import functools
from dataclasses import dataclass

from gridcase_contracts.codes import Service
from gridcase_intake.adapters.repository import (
    MongoApiKeys,
    MongoCaseViews,
    MongoIdempotencyKeys,
    MongoRateLimits,
)
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.consumer import build_consumer, key_sweeper
from gridcase_intake.ports import Publisher
from gridcase_runtime.health import ReadinessCheck, kafka_reachable
from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_runtime.kafka_consumer import EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, close, connect, ping
from gridcase_runtime.photos import PhotoStore
from gridcase_runtime.service import case_events_publisher
from gridcase_runtime.workers import Worker


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
