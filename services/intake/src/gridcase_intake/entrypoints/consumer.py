"""What runs beside the API: the case-events consumer that keeps intake's case views, and
the key sweeper."""

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from gridcase_contracts.codes import Service
from gridcase_intake.config import IntakeSettings
from gridcase_intake.handlers import project_events
from gridcase_intake.ports import CaseViews
from gridcase_runtime.kafka_consumer import EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.service import case_events_consumer
from gridcase_runtime.workers import Periodic

log = logging.getLogger(__name__)


def build_consumer(
    settings: IntakeSettings, cases: CaseViews, dead_letters: EventPublisher
) -> EventConsumer:
    project = partial(project_events, cases=cases)
    return case_events_consumer(settings, Service.INTAKE, project, dead_letters)


def key_sweeper(sweep_expired: Callable[[], Awaitable[int]], interval_s: float) -> Periodic:
    """Deletes expired Idempotency-Keys and rate-limit windows periodically (no TTL index
    on our server)."""

    async def sweep() -> None:
        deleted = await sweep_expired()
        if deleted:
            log.info("swept %d expired idempotency keys and rate-limit windows", deleted)

    return Periodic("intake-key-sweeper", sweep, interval_s)
