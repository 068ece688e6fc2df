"""kafka-python 3.0.12's stalls against the real broker, each reproduced without its
workaround and undone with it. When a reproduction fails, a release fixed the stall and
its workaround (`kafka_workarounds`) can go."""

import asyncio
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewPartitions
from kafka.errors import KafkaError, KafkaTimeoutError
from private_servers import PrivateBroker

from factories import case_reported
from gridcase_contracts.topics import CASE_EVENTS, TopicSpec
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.kafka_workarounds import (
    failed_for_good,
    finish_stalled_rebalance,
    request_new_producer_id_after_reset,
)
from kafka_login import client_settings
from producers import AsProducers

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka_bootstrap: str, namespace: str, request: pytest.FixtureRequest) -> str:
    spec = CASE_EVENTS.namespaced(f"{namespace}-{request.node.name[:30].replace('_', '-')}")
    ensure_topics(kafka_bootstrap, [spec])
    return spec.name


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    """An idempotent producer, as the publisher's."""
    producer = KafkaProducer(
        **client_settings(kafka_bootstrap, acks="all", enable_idempotence=True)
    )
    yield producer
    producer._sender.force_close()  # fails what still waits (the stalled record)
    producer.close(timeout=5)


def reset_as_an_expired_batch_does(producer: KafkaProducer) -> int:
    """What the sender does when a batch it already sent expires (a broker died or stalled
    with it in flight): drop the producer id. Returns the id dropped."""
    manager = producer._transaction_manager
    dropped: int = manager.producer_id_and_epoch.producer_id
    manager.reset_producer_id()
    return dropped


def test_a_producer_reset_after_an_expired_batch_stalls(
    producer: KafkaProducer, topic: str
) -> None:
    producer.send(topic, b"first").get(10)
    reset_as_an_expired_batch_does(producer)
    with pytest.raises(KafkaTimeoutError):
        producer.send(topic, b"second").get(3)
    assert not producer._transaction_manager.has_producer_id()


def test_the_reset_producer_asks_for_a_new_producer_id(producer: KafkaProducer, topic: str) -> None:
    request_new_producer_id_after_reset(producer)
    producer.send(topic, b"first").get(10)
    dropped = reset_as_an_expired_batch_does(producer)
    producer.send(topic, b"second").get(10)
    assert producer._transaction_manager.producer_id_and_epoch.producer_id != dropped


def test_a_join_stalled_by_a_metadata_change_is_finished(
    kafka_bootstrap: str, namespace: str
) -> None:
    """kafka-python 3.0.12: the group leader sees the topic grow, rejoins, and the join
    outlasts the poll() that started it; the member stays "rebalancing" with nothing left
    to rejoin for, so it keeps the old partitions and never heartbeats again. If the
    first assertion fails, the library fixed it and the workaround can go."""
    topic = CASE_EVENTS.namespaced(f"{namespace}-stall")
    topic = TopicSpec(topic.name, partitions=2, retention_ms=topic.retention_ms)
    ensure_topics(kafka_bootstrap, [topic])
    consumer = KafkaConsumer(
        **client_settings(kafka_bootstrap),
        group_id=topic.name,
        enable_auto_commit=False,
        metadata_max_age_ms=300,
    )
    admin = KafkaAdminClient(**client_settings(kafka_bootstrap))
    try:
        consumer.subscribe([topic.name])
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            assert time.monotonic() < deadline, "never joined"
            consumer.poll(timeout_ms=200)
        admin.create_partitions({topic.name: NewPartitions(4)})
        coordinator = consumer._coordinator
        stalled_polls = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and stalled_polls < 20:
            consumer.poll(timeout_ms=0)  # shorter than any join
            if coordinator.rebalance_in_progress() and not coordinator.need_rejoin():
                stalled_polls += 1
            time.sleep(0.05)
        assert stalled_polls == 20, "the stall did not happen"
        deadline = time.monotonic() + 30
        while len(consumer.assignment()) < 4:
            assert time.monotonic() < deadline, "the join was not finished"
            finish_stalled_rebalance(consumer)
            consumer.poll(timeout_ms=200)
        assert not coordinator.rebalance_in_progress()
    finally:
        consumer.close()
        admin.close()


def stall_until_failed(producer: KafkaProducer, broker: PrivateBroker, topic: str) -> None:
    """The broker stalled while the producer asks it for a new producer id (after an
    expired batch, for the next record), until that request times out; then the broker
    resumes."""
    broker.pause()
    try:
        reset_as_an_expired_batch_does(producer)
        producer.send(topic, b"stalled")
        deadline = time.monotonic() + 30
        while not failed_for_good(producer):
            assert time.monotonic() < deadline, "the producer id request never failed"
            time.sleep(0.1)
    finally:
        broker.resume()


def test_a_timed_out_producer_id_request_fails_the_producer_for_good(
    broker: PrivateBroker,
) -> None:
    spec = CASE_EVENTS.namespaced("init-timeout")
    ensure_topics(broker.bootstrap, [spec])
    producer = KafkaProducer(
        **client_settings(
            broker.bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=1000
        )
    )
    try:
        request_new_producer_id_after_reset(producer)
        producer.send(spec.name, b"first").get(10)
        stall_until_failed(producer, broker, spec.name)
        time.sleep(2)  # the broker answers again
        with pytest.raises(KafkaError):
            producer.send(spec.name, b"second").get(10)
        assert failed_for_good(producer)
    finally:
        producer._sender.force_close()
        producer.close(timeout=5)


async def test_the_publisher_replaces_a_producer_failed_for_good(broker: PrivateBroker) -> None:
    spec = CASE_EVENTS.namespaced("init-timeout-publisher")
    ensure_topics(broker.bootstrap, [spec])
    publisher = EventPublisher(
        broker.bootstrap, spec, service="test", signer=AsProducers(), ack_timeout_s=2
    )
    try:
        await publisher.publish(case_reported("GC-FATAL-1"))
        failed = await publisher._ready_producer()
        await asyncio.to_thread(stall_until_failed, failed, broker, spec.name)
        await publisher.publish(case_reported("GC-FATAL-2"))
        assert publisher._producer is not failed
    finally:
        publisher.close()
