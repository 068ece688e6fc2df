"""The case-events consumer that keeps intake's case views, and the key sweeper."""

import asyncio
import contextlib
import logging

from gridcase_intake.bootstrap import Intake
from gridcase_runtime.kafka import TRANSIENT_ERRORS, EventConsumer, EventPublisher
from gridcase_runtime.workers import Worker

log = logging.getLogger(__name__)


def case_events_consumer(intake: Intake, dead_letters: EventPublisher) -> EventConsumer:
    settings = intake.settings
    return EventConsumer(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        settings.dlq_topic,
        group_id=settings.consumer_group,
        service="intake",
        handle_batch=intake.project,
        dead_letters=dead_letters,
    )


class KeySweeper:
    """Deletes expired Idempotency-Keys every `interval_s` (no TTL index on our server)."""

    def __init__(self, intake: Intake, interval_s: float) -> None:
        self.intake = intake
        self.interval_s = interval_s
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                deleted = await self.intake.sweep()
                if deleted:
                    log.info("swept %d expired idempotency keys", deleted)
            except TRANSIENT_ERRORS as error:
                log.warning("idempotency key sweep failed, will retry: %r", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval_s)

    def stop(self) -> None:
        self._stopping.set()


def workers(intake: Intake, dead_letters: EventPublisher) -> list[Worker]:
    consumer = case_events_consumer(intake, dead_letters)
    sweeper = KeySweeper(intake, intake.settings.sweep_interval_s)
    return [
        Worker("intake-case-events", consumer.run, consumer.stop),
        Worker("intake-key-sweeper", sweeper.run, sweeper.stop),
    ]
