"""Builds the service from its settings: real adapters, policies and workers."""

import logging
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
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.ladder import LadderPolicy
from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_consumer import Delivery, EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, close, connect
from gridcase_runtime.outbox import OutboxRelay
from gridcase_runtime.workers import Periodic, Worker

SERVICE = "assignment"
log = logging.getLogger(__name__)


async def scan_ladders(context: handlers.Context) -> None:
    """Fires the escalation levels whose time has come; refreshes the queue gauge."""
    await handlers.escalate_due_ladders(context)
    await handlers.refresh_supervisor_queue_size(context)


@dataclass
class AssignmentService:
    settings: AssignmentSettings
    database: MongoDatabase
    repository: AssignmentRepository
    context: handlers.Context
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: EventConsumer
    timer: Periodic
    recount: Periodic

    async def prepare(self) -> None:
        """Indexes and seed data (inserting only what is missing)."""
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
            self.timer.worker,
            self.recount.worker,
        ]

    def close(self) -> None:
        self.publisher.close()
        close(self.database)


def bootstrap(settings: AssignmentSettings) -> AssignmentService:
    """Wires the service; nothing connects until it is used."""
    database = connect(settings.mongodb_url, settings.mongodb_database)
    repository = AssignmentRepository(database)
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service=SERVICE,
        signer=settings.signing_key(Service.ASSIGNMENT),
    )
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

    async def handle_batch(batch: list[Delivery]) -> None:
        await handlers.handle_batch([delivery.event for delivery in batch], context)

    consumer = EventConsumer(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        settings.dlq_topic,
        group_id=settings.consumer_group,
        service=SERVICE,
        handle_batch=handle_batch,
        dead_letters=publisher,
        verifier=settings.verifier(),
    )
    return AssignmentService(
        settings=settings,
        database=database,
        repository=repository,
        context=context,
        publisher=publisher,
        relay=relay,
        consumer=consumer,
        timer=Periodic(
            "escalation-timer", partial(scan_ladders, context), settings.ladder_scan_interval_s
        ),
        recount=Periodic(
            "workload-recount", repository.recount_workload, settings.workload_recount_interval_s
        ),
    )
