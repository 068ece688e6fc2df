"""A faust-streaming agent with a changelog-backed table on the real broker."""

import asyncio
import time

import faust
import pytest

from factories import case_reported
from gridcase_contracts.codec import decode
from gridcase_contracts.topics import CASE_EVENTS
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.settings import ServiceSettings
from gridcase_runtime.streams import faust_app_settings
from producers import AsProducers

pytestmark = pytest.mark.integration


async def test_an_agent_counts_events_into_a_table(kafka_bootstrap: str, namespace: str) -> None:
    topic = CASE_EVENTS.namespaced(namespace)
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, [topic])
    publisher = EventPublisher(kafka_bootstrap, topic, service="test", signer=AsProducers())
    events = [case_reported(f"GC-faust-{i % 3}") for i in range(9)]
    await publisher.publish_many(events)
    publisher.close()

    settings = ServiceSettings(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap)
    app = faust.App(**faust_app_settings(settings, app_id=f"{namespace}-counter"))
    source = app.topic(topic.name, key_serializer="raw", value_serializer="raw")
    per_case = app.Table("events-per-case", default=int, partitions=CASE_EVENTS.partitions)
    seen: list[str] = []

    @app.agent(source)
    async def count(stream: faust.Stream[bytes]) -> None:
        async for value in stream:
            event = decode(value)
            per_case[event.case_id] += 1
            seen.append(event.case_id)

    await app.start()
    try:
        deadline = time.monotonic() + 60
        while len(seen) < len(events):
            assert time.monotonic() < deadline, f"agent saw {len(seen)} of {len(events)}"
            await asyncio.sleep(0.1)
        assert {case: per_case[case] for case in sorted(set(seen))} == {
            "GC-faust-0": 3,
            "GC-faust-1": 3,
            "GC-faust-2": 3,
        }
        changelog = per_case.changelog_topic.get_topic_name()
        assert changelog.endswith("events-per-case-changelog")
    finally:
        await app.stop()
