"""The case-events consumer: routes new, returned and reopened cases and follows the
others' status."""

from gridcase_assignment import handlers
from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_consumer import Delivery, EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.service import case_events_consumer


def build_consumer(context: handlers.Context, dead_letters: EventPublisher) -> EventConsumer:
    async def handle_batch(batch: list[Delivery]) -> None:
        await handlers.handle_batch([delivery.event for delivery in batch], context)

    return case_events_consumer(context.settings, Service.ASSIGNMENT, handle_batch, dead_letters)
