"""The Kafka helpers against the real broker: round trip, dead letters, redelivery."""

import asyncio
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer

from factories import case_reported
from gridcase_contracts.codec import decode
from gridcase_contracts.codes import Service
from gridcase_contracts.topics import CASE_EVENTS, Headers, TopicSpec
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_consumer import Delivery, EventConsumer, PoisonEventError
from gridcase_runtime.kafka_producer import EventPublisher
from kafka_login import client_settings
from producers import AsProducers, key_of, trusted

pytestmark = pytest.mark.integration


async def consume_until(
    consumer: EventConsumer,
    condition: "asyncio.Future[None] | None" = None,
    check: "object" = None,
    timeout_s: float = 30,
) -> None:
    task = asyncio.create_task(consumer.run())
    deadline = time.monotonic() + timeout_s
    try:
        while not check():  # type: ignore[operator]
            assert time.monotonic() < deadline, "consumer did not finish in time"
            await asyncio.sleep(0.05)
    finally:
        consumer.stop()
        await task


def raw_records(kafka_bootstrap: str, topic: str, expected: int) -> list[object]:
    reader = KafkaConsumer(
        topic,
        **client_settings(kafka_bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    records = []
    for record in reader:
        records.append(record)
        if len(records) >= expected:
            break
    reader.close()
    return records


async def test_topics_get_their_declared_partitions(
    kafka_bootstrap: str, topics: tuple[TopicSpec, TopicSpec]
) -> None:

    admin = KafkaAdminClient(**client_settings(kafka_bootstrap))
    described = {
        t["name"]: len(t["partitions"]) for t in admin.describe_topics([s.name for s in topics])
    }
    admin.close()
    assert described == {topics[0].name: 6, topics[1].name: 1}


async def test_round_trip_keeps_key_headers_and_order(
    kafka_bootstrap: str, topics: tuple[TopicSpec, TopicSpec], publisher: EventPublisher
) -> None:
    events = [case_reported("GC-samecase01") for _ in range(5)]
    await publisher.publish_many(events, ingest_ts_ns=time.time_ns())

    records = await asyncio.to_thread(raw_records, kafka_bootstrap, topics[0].name, 5)
    assert [r.key for r in records] == [b"GC-samecase01"] * 5  # type: ignore[attr-defined]
    assert len({r.partition for r in records}) == 1  # type: ignore[attr-defined]
    headers = dict(records[0].headers)  # type: ignore[attr-defined]
    assert headers[Headers.EVENT_TYPE] == b"CaseReported"
    assert int(headers[Headers.INGEST_TS]) > 0

    received: list[Delivery] = []

    async def handle(batch: list[Delivery]) -> None:
        received.extend(batch)

    consumer = EventConsumer(
        kafka_bootstrap,
        *topics,
        group_id=topics[0].name,
        service="test",
        handle_batch=handle,
        dead_letters=publisher,
        verifier=trusted(),
    )
    await consume_until(consumer, check=lambda: len(received) >= 5)
    assert [d.event for d in received] == events
    assert all(d.ingest_ts_ns for d in received)


async def test_poison_records_are_dead_lettered_and_the_partition_keeps_flowing(
    kafka_bootstrap: str, topics: tuple[TopicSpec, TopicSpec], publisher: EventPublisher
) -> None:
    case_id = "GC-onepartition"
    good_before, good_after, refused = (case_reported(case_id) for _ in range(3))
    await publisher.publish(good_before)
    signed = key_of(Service.INTAKE).sign(case_id.encode(), b"{not json", [])
    await publisher.send_raw(topics[0].name, b"{not json", key=case_id.encode(), headers=signed)
    await publisher.publish(refused)
    await publisher.publish(good_after)

    handled = []

    async def handle(batch: list[Delivery]) -> None:
        for delivery in batch:
            if delivery.event.event_id == refused.event_id:
                raise PoisonEventError("refused by the handler")
        handled.extend(d.event.event_id for d in batch)

    consumer = EventConsumer(
        kafka_bootstrap,
        *topics,
        group_id=topics[0].name,
        service="test",
        handle_batch=handle,
        dead_letters=publisher,
        verifier=trusted(),
    )
    await consume_until(consumer, check=lambda: good_after.event_id in handled)
    assert handled.count(good_before.event_id) >= 1
    assert refused.event_id not in handled

    dead = await asyncio.to_thread(raw_records, kafka_bootstrap, topics[1].name, 2)
    assert len(dead) == 2
    first_headers = dict(dead[0].headers)  # type: ignore[attr-defined]
    assert dead[0].value == b"{not json"  # type: ignore[attr-defined]
    assert first_headers[Headers.DLQ_SOURCE].startswith(topics[0].name.encode())
    assert first_headers[Headers.DLQ_ERROR_TYPE] == b"JSONDecodeError"
    assert decode(dead[1].value).event_id == refused.event_id  # type: ignore[attr-defined]
    assert dict(dead[1].headers)[Headers.DLQ_ERROR] == b"refused by the handler"  # type: ignore[attr-defined]


async def test_transient_errors_are_retried_not_dead_lettered(
    kafka_bootstrap: str, topics: tuple[TopicSpec, TopicSpec], publisher: EventPublisher
) -> None:
    event = case_reported()
    await publisher.publish(event)
    attempts: list[int] = []

    async def flaky(batch: list[Delivery]) -> None:
        attempts.append(len(batch))
        if len(attempts) < 3:
            raise ConnectionError("database restarting")

    consumer = EventConsumer(
        kafka_bootstrap,
        *topics,
        group_id=topics[0].name,
        service="test",
        handle_batch=flaky,
        dead_letters=publisher,
        verifier=trusted(),
    )
    await consume_until(consumer, check=lambda: len(attempts) >= 3)
    assert attempts == [1, 1, 1]


async def test_committed_offsets_survive_a_consumer_restart(
    kafka_bootstrap: str, topics: tuple[TopicSpec, TopicSpec], publisher: EventPublisher
) -> None:
    first, second = case_reported(), case_reported()
    await publisher.publish(first)
    seen: list[object] = []

    async def handle(batch: list[Delivery]) -> None:
        seen.extend(d.event.event_id for d in batch)

    def consumer() -> EventConsumer:
        return EventConsumer(
            kafka_bootstrap,
            *topics,
            group_id=topics[0].name,
            service="test",
            handle_batch=handle,
            dead_letters=publisher,
            verifier=trusted(),
        )

    await consume_until(consumer(), check=lambda: first.event_id in seen)
    await publisher.publish(second)
    await consume_until(consumer(), check=lambda: second.event_id in seen)
    assert seen == [first.event_id, second.event_id]


async def test_publishing_to_an_unreachable_broker_fails_fast(
    topics: tuple[TopicSpec, TopicSpec],
) -> None:
    from gridcase_runtime.kafka_producer import PublishError

    nowhere = EventPublisher(
        "127.0.0.1:1", topics[0], service="test", signer=AsProducers(), ack_timeout_s=1.0
    )
    started = time.monotonic()
    with pytest.raises(PublishError):
        await nowhere.publish(case_reported())
    assert time.monotonic() - started < 10


def test_topics_are_created_with_the_requested_replication_factor(
    kafka_bootstrap: str, namespace: str
) -> None:
    """The one local broker cannot hold two replicas, so a factor of 2 must be refused:
    the factor reaches the broker instead of a hard-coded 1."""
    from kafka.errors import InvalidReplicationFactorError

    topic = CASE_EVENTS.namespaced(f"{namespace}-replication")
    with pytest.raises(InvalidReplicationFactorError):
        ensure_topics(kafka_bootstrap, [topic], replication_factor=2, timeout_s=10)
