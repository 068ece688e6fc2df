"""Builds the service's parts from settings: real adapters, the workers beside the API."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gridcase_contracts.codes import CaseStatus, Service
from gridcase_remediation import metrics
from gridcase_remediation.adapters.repository import CaseRepository
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.handlers import check_chains, flag_overdue, record_events
from gridcase_runtime.kafka_consumer import Delivery, EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, connect
from gridcase_runtime.outbox import OutboxRelay
from gridcase_runtime.photos import PhotoStore
from gridcase_runtime.workers import Periodic, Worker

SERVICE = "remediation-tracking"
log = logging.getLogger(__name__)


class SlaTimer(Periodic):
    """Every `interval_s`: flags stages past their due date, refreshes the cases gauge."""

    def __init__(
        self, repository: CaseRepository, relay: OutboxRelay, *, interval_s: float
    ) -> None:
        super().__init__("sla-timer", self.flag_overdue_stages, interval_s)
        self.repository = repository
        self.relay = relay

    async def flag_overdue_stages(self) -> int:
        flagged = await flag_overdue(self.repository, datetime.now(UTC))
        if flagged:
            self.relay.notify()
        counts = await self.repository.count_by_status()
        for status in CaseStatus:
            metrics.CASES.labels(status.value).set(counts.get(status.value, 0))
        return flagged


class LedgerCheck(Periodic):
    """Every `interval_s`: recomputes every case's ledger hash chain and logs each break
    (counted in gridcase_ledger_breaks_total, which the alert watches)."""

    def __init__(self, repository: CaseRepository, *, interval_s: float) -> None:
        super().__init__("ledger-check", self.check, interval_s)
        self.repository = repository

    async def check(self) -> int:
        checked, broken = await check_chains(self.repository, self.repository.case_ids())
        for case_id, found in broken.items():
            log.error("ledger of %s broken at entry %d: %s", case_id, found.entry, found.reason)
        return checked


@dataclass
class Components:
    settings: RemediationSettings
    database: MongoDatabase
    repository: CaseRepository
    photos: PhotoStore
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: EventConsumer
    sla_timer: SlaTimer
    ledger_check: LedgerCheck
    workers: list[Worker] = field(default_factory=list)


WORKERS = ("consumer", "relay", "sla-timer", "ledger-check")


def build(settings: RemediationSettings, *, workers: tuple[str, ...] = WORKERS) -> Components:
    """Real adapters for `settings`; `workers` picks which background loops run."""
    database = connect(settings.mongodb_url, settings.mongodb_database)
    repository = CaseRepository(database)
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service=SERVICE,
        signer=settings.signing_key(Service.REMEDIATION_TRACKING),
    )
    relay = OutboxRelay(
        repository.cases,
        publisher,
        service=SERVICE,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    sla_timer = SlaTimer(repository, relay, interval_s=settings.sla_scan_interval_s)
    ledger_check = LedgerCheck(repository, interval_s=settings.ledger_check_interval_s)

    async def handle(deliveries: list[Delivery]) -> None:
        await record_events(repository, [delivery.event for delivery in deliveries])

    consumer = EventConsumer(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        settings.dlq_topic,
        group_id=settings.group_id,
        service=SERVICE,
        handle_batch=handle,
        dead_letters=publisher,
        verifier=settings.verifier(),
    )
    available = {
        "consumer": Worker("consumer", consumer.run, consumer.stop),
        "relay": Worker("outbox-relay", relay.run, relay.stop),
        "sla-timer": sla_timer.worker,
        "ledger-check": ledger_check.worker,
    }
    return Components(
        settings,
        database,
        repository,
        PhotoStore(database),
        publisher,
        relay,
        consumer,
        sla_timer,
        ledger_check,
        [available[name] for name in workers],
    )
