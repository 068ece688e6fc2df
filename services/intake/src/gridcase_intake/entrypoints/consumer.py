"""The case-events consumer that keeps intake's case views, and the key sweeper."""

import logging

from gridcase_intake.bootstrap import Intake
from gridcase_runtime.kafka_consumer import EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.workers import Periodic, Worker

log = logging.getLogger(__name__)


def case_events_consumer(intake: Intake, dead_letters: EventPublisher) -> EventConsumer:
    settings = intake.settings
    return EventConsumer(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        settings.dlq_topic,
        group_id=settings.group_id,
        service="intake",
        handle_batch=intake.project,
        dead_letters=dead_letters,
        verifier=settings.verifier(),
    )


def key_sweeper(intake: Intake) -> Periodic:
    """Deletes expired Idempotency-Keys and rate-limit windows periodically (no TTL index
    on our server)."""

    async def sweep() -> None:
        deleted = await intake.sweep()
        if deleted:
            log.info("swept %d expired idempotency keys and rate-limit windows", deleted)

    return Periodic("intake-key-sweeper", sweep, intake.settings.sweep_interval_s)


def workers(intake: Intake, dead_letters: EventPublisher) -> list[Worker]:
    consumer = case_events_consumer(intake, dead_letters)
    return [
        Worker("intake-case-events", consumer.run, consumer.stop),
        key_sweeper(intake).worker,
    ]
