"""Builds assignment's components from its settings: real adapters, policies, workers."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from gridcase_assignment import handlers, metrics
from gridcase_assignment.adapters.repository import AssignmentRepository
from gridcase_assignment.adapters.seed_files import (
    load_calendar,
    load_catalogue,
    load_registry,
    load_sla_policy,
)
from gridcase_assignment.config import SERVICE, AssignmentSettings
from gridcase_assignment.domain.ladder import LadderPolicy
from gridcase_assignment.entrypoints.consumer import build_consumer
from gridcase_contracts.codes import Service
from gridcase_runtime.health import ReadinessCheck, kafka_reachable
from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_runtime.kafka_consumer import EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, close, connect, ping
from gridcase_runtime.outbox import OutboxRelay
from gridcase_runtime.service import case_events_publisher
from gridcase_runtime.workers import Periodic, Worker


@dataclass(frozen=True)
class Components:
    """What the API and the workers use, built once per process."""

    settings: AssignmentSettings
    database: MongoDatabase
    repository: AssignmentRepository
    context: handlers.Context
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: EventConsumer
    timers: tuple[Periodic, ...]

    async def prepare(self) -> None:
        """Topics, indexes and seed data (inserting only what is missing)."""
        await ensure_case_topics(self.settings)
        await self.repository.create_indexes()
        await self.relay.create_indexes()
        departments, handler_list = load_registry(self.settings.registry_file)
        await self.repository.seed(
            load_catalogue(self.settings.catalogue_file), departments, handler_list
        )

    def workers(self) -> list[Worker]:
        return [
            Worker("outbox-relay", self.relay.run, self.relay.stop),
            Worker("case-events-consumer", self.consumer.run, self.consumer.stop),
            *(timer.worker for timer in self.timers),
        ]

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        return {
            "kafka": kafka_reachable(self.settings.kafka_bootstrap_servers),
            "mongodb": partial(ping, self.database),
        }

    async def close(self) -> None:
        await asyncio.to_thread(self.publisher.close)
        close(self.database)


def bootstrap(settings: AssignmentSettings) -> Components:
    """Wires the service; nothing connects until it is used."""
    database = connect(settings.mongodb_url, settings.mongodb_database)
    repository = AssignmentRepository(database)
    publisher = case_events_publisher(settings, Service.ASSIGNMENT)
    relay = OutboxRelay(repository.cases, publisher, service=SERVICE)
    calendar = load_calendar(settings)
    metrics.CALENDAR_COVERED_UNTIL.set(calendar.coverage_ends().timestamp())
    context = handlers.Context(
        repository=repository,
        settings=settings,
        sla=load_sla_policy(settings),
        calendar=calendar,
        ladder=LadderPolicy(
            level2_delay=timedelta(seconds=settings.ladder_level2_delay_s),
            level3_delay=timedelta(seconds=settings.ladder_level3_delay_s),
        ),
        notify_outbox=relay.notify,
    )
    return Components(
        settings=settings,
        database=database,
        repository=repository,
        context=context,
        publisher=publisher,
        relay=relay,
        consumer=build_consumer(context, publisher),
        timers=(
            Periodic(
                "escalation-timer",
                partial(handlers.scan_ladders, context),
                settings.ladder_scan_interval_s,
            ),
            Periodic(
                "workload-recount",
                repository.recount_workload,
                settings.workload_recount_interval_s,
            ),
        ),
    )
