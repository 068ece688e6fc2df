"""The outbox relay against the real broker and Mongo-wire server."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from kafka import KafkaConsumer

from factories import case_reported
from gridcase_contracts.codec import decode
from gridcase_contracts.topics import CASE_EVENTS, TopicSpec
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, close, connect
from gridcase_runtime.outbox import OutboxRelay, outbox_update
from kafka_login import client_settings
from producers import AsProducers

pytestmark = pytest.mark.integration


@pytest.fixture
async def topic(kafka_bootstrap: str, namespace: str, request: pytest.FixtureRequest) -> TopicSpec:
    spec = CASE_EVENTS.namespaced(f"{namespace}-{request.node.name[-20:].replace('_', '-')}")
    await asyncio.to_thread(ensure_topics, kafka_bootstrap, [spec])
    return spec


@pytest.fixture
async def database(mongo_url: str, namespace: str) -> AsyncIterator[MongoDatabase]:
    db = connect(mongo_url, namespace.replace("-", "_"))
    yield db
    await db.client.drop_database(db.name)
    close(db)


def read_all(kafka_bootstrap: str, topic: str) -> list[bytes]:
    reader = KafkaConsumer(
        topic,
        **client_settings(kafka_bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    values = [record.value for record in reader]
    reader.close()
    return values


async def test_state_and_events_are_stored_together_and_relayed_once(
    kafka_bootstrap: str, topic: TopicSpec, database: MongoDatabase
) -> None:
    cases = database["cases"]
    first, second = case_reported("GC-outbox-1"), case_reported("GC-outbox-1")
    await cases.insert_one({"_id": "GC-outbox-1", "status": "new", "outbox": []})
    update = outbox_update([first, second])
    update["$set"]["status"] = "reported"
    await cases.update_one({"_id": "GC-outbox-1"}, update)

    publisher = EventPublisher(kafka_bootstrap, topic, service="test", signer=AsProducers())
    relay = OutboxRelay(cases, publisher, service="test")
    await relay.create_indexes()
    assert await relay.relay_once() == 2
    assert await relay.relay_once() == 0
    publisher.close()

    document = await cases.find_one({"_id": "GC-outbox-1"})
    assert document is not None
    assert (document["status"], document["outbox"], document["outbox_pending"]) == (
        "reported",
        [],
        False,
    )
    values = await asyncio.to_thread(read_all, kafka_bootstrap, topic.name)
    assert [decode(v).event_id for v in values] == [first.event_id, second.event_id]


async def test_nothing_is_lost_while_kafka_is_unreachable(
    kafka_bootstrap: str, topic: TopicSpec, database: MongoDatabase
) -> None:
    cases = database["cases"]
    event = case_reported("GC-outbox-2")
    await cases.insert_one(
        {
            "_id": "GC-outbox-2",
            **outbox_update([event])["$set"],
            "outbox": outbox_update([event])["$push"]["outbox"]["$each"],
        }
    )

    unreachable = EventPublisher(
        "127.0.0.1:1", topic, service="test", signer=AsProducers(), ack_timeout_s=0.5
    )
    stuck = OutboxRelay(cases, unreachable, service="test", poll_interval_s=0.1)
    task = asyncio.create_task(stuck.run())
    await asyncio.sleep(1.5)
    stuck.stop()
    await task
    pending = await cases.find_one({"_id": "GC-outbox-2"})
    assert pending is not None
    assert len(pending["outbox"]) == 1

    publisher = EventPublisher(kafka_bootstrap, topic, service="test", signer=AsProducers())
    assert await OutboxRelay(cases, publisher, service="test").relay_once() == 1
    publisher.close()
    values = await asyncio.to_thread(read_all, kafka_bootstrap, topic.name)
    assert [decode(v).event_id for v in values] == [event.event_id]
