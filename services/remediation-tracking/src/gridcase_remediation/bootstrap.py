"""Builds remediation-tracking's components from its settings: real adapters, workers."""

import asyncio
from dataclasses import dataclass
from functools import partial

from gridcase_contracts.codes import Service
from gridcase_remediation.adapters.repository import CaseRepository
from gridcase_remediation.config import SERVICE, RemediationSettings
from gridcase_remediation.entrypoints.consumer import LedgerCheck, SlaTimer, build_consumer
from gridcase_runtime.health import ReadinessCheck, kafka_reachable
from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_runtime.kafka_consumer import EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, close, connect, ping
from gridcase_runtime.outbox import OutboxRelay
from gridcase_runtime.photos import PhotoStore
from gridcase_runtime.service import case_events_publisher
from gridcase_runtime.workers import Worker

WORKERS = ("consumer", "relay", "sla-timer", "ledger-check")


@dataclass(frozen=True)
class Components:
    """What the API and the workers use, built once per process."""

    settings: RemediationSettings
    database: MongoDatabase
    repository: CaseRepository
    photos: PhotoStore
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: EventConsumer
    sla_timer: SlaTimer
    ledger_check: LedgerCheck
    running: tuple[str, ...] = WORKERS
    """The names of the workers that run beside the API."""

    async def prepare(self) -> None:
        """Topics, indexes, and the hash chains of ledgers written before there were any."""
        await ensure_case_topics(self.settings)
        await self.repository.create_indexes()
        await self.repository.chain_unlinked_ledgers()
        await self.relay.create_indexes()
        await self.photos.create_indexes()

    def workers(self) -> list[Worker]:
        available = {
            "consumer": Worker("consumer", self.consumer.run, self.consumer.stop),
            "relay": Worker("outbox-relay", self.relay.run, self.relay.stop),
            "sla-timer": self.sla_timer.worker,
            "ledger-check": self.ledger_check.worker,
        }
        return [available[name] for name in self.running]

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        return {
            "kafka": kafka_reachable(self.settings.kafka_bootstrap_servers),
            "mongo": partial(ping, self.database),
        }

    async def close(self) -> None:
        await asyncio.to_thread(self.publisher.close)
        close(self.database)


def build(settings: RemediationSettings, *, workers: tuple[str, ...] = WORKERS) -> Components:
    """Real adapters for `settings`; `workers` picks which background loops run."""
    database = connect(settings.mongodb_url, settings.mongodb_database)
    repository = CaseRepository(database)
    publisher = case_events_publisher(settings, Service.REMEDIATION_TRACKING)
    relay = OutboxRelay(
        repository.cases,
        publisher,
        service=SERVICE,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    return Components(
        settings=settings,
        database=database,
        repository=repository,
        photos=PhotoStore(database),
        publisher=publisher,
        relay=relay,
        consumer=build_consumer(repository, settings, publisher),
        sla_timer=SlaTimer(repository, relay, interval_s=settings.sla_scan_interval_s),
        ledger_check=LedgerCheck(repository, interval_s=settings.ledger_check_interval_s),
        running=workers,
    )
