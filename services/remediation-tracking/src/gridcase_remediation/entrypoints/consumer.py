"""What runs beside the API: the case-events consumer that records every event in its
case's ledger, the SLA timer and the ledger check."""

import logging
from datetime import UTC, datetime

from gridcase_contracts.codes import CaseStatus, Service
from gridcase_remediation import metrics
from gridcase_remediation.adapters.repository import CaseRepository
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.handlers import check_chains, flag_overdue, record_events
from gridcase_runtime.kafka_consumer import Delivery, EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.outbox import OutboxRelay
from gridcase_runtime.service import case_events_consumer
from gridcase_runtime.workers import Periodic

log = logging.getLogger(__name__)


def build_consumer(
    repository: CaseRepository, settings: RemediationSettings, dead_letters: EventPublisher
) -> EventConsumer:
    async def handle(deliveries: list[Delivery]) -> None:
        await record_events(repository, [delivery.event for delivery in deliveries])

    return case_events_consumer(settings, Service.REMEDIATION_TRACKING, handle, dead_letters)


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
