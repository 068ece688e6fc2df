"""The runtime's Kafka tests: a namespaced topic pair per test, and a publisher to it."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from gridcase_contracts.topics import CASE_EVENTS, CASE_EVENTS_DLQ, TopicSpec
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from producers import AsProducers


@pytest.fixture
async def topics(
    kafka_bootstrap: str, namespace: str, request: pytest.FixtureRequest
) -> tuple[TopicSpec, TopicSpec]:
    """The case-events topic and its dead-letter topic, this test's own."""
    prefix = f"{namespace}-{request.node.name[:30].replace('_', '-')}"
    pair = (CASE_EVENTS.namespaced(prefix), CASE_EVENTS_DLQ.namespaced(prefix))
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, pair)
    return pair


@pytest.fixture
async def publisher(
    kafka_bootstrap: str, topics: tuple[TopicSpec, TopicSpec]
) -> AsyncIterator[EventPublisher]:
    publisher = EventPublisher(kafka_bootstrap, topics[0], service="test", signer=AsProducers())
    yield publisher
    publisher.close()
