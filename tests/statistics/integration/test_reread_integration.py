"""What the agent reads itself, on the real broker, when faust passed records over: where
its group starts a partition, and a range of the partition's records."""

import uuid
from datetime import datetime
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from gridcase_contracts.codec import encode
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_stats.adapters.replay import read_range, starting_offsets
from gridcase_stats.config import StatsSettings
from producers import AsProducers

pytestmark = pytest.mark.integration


async def test_partitions_start_at_their_first_offsets_then_at_the_committed_ones(
    service_env: dict[str, str], story: Any, may_day: datetime
) -> None:
    namespace = f"reread-{uuid.uuid4().hex[:8]}"
    settings = StatsSettings(**{**service_env, "GRIDCASE_TOPIC_NAMESPACE": namespace})
    bootstrap, topic = settings.kafka_bootstrap_servers, settings.case_events_topic
    ensure_topics(bootstrap, [topic])
    publisher = EventPublisher(bootstrap, topic, service="test", signer=AsProducers())
    events = story("GC-reread-1", may_day).assigned(1).accepted(1).events
    await publisher.publish_many(events)
    publisher.close()
    tp = TopicPartition(topic.name, next(iter(partitions_of(bootstrap, topic.name))))
    assert starting_offsets(bootstrap, settings.group_id, topic) == dict.fromkeys(
        range(topic.partitions), 0
    )

    group = KafkaConsumer(
        **KafkaSecurity().client_config(),
        bootstrap_servers=bootstrap,
        group_id=settings.group_id,
        enable_auto_commit=False,
    )
    group.commit({tp: OffsetAndMetadata(2, "", -1)})
    group.close()
    assert starting_offsets(bootstrap, settings.group_id, topic)[tp.partition] == 2

    records = read_range(bootstrap, tp, 1, 3)
    assert [record.offset for record in records] == [1, 2]
    assert [record.value for record in records] == [encode(e)[1] for e in events[1:3]]


def partitions_of(bootstrap: str, topic: str) -> set[int]:
    """The partitions of `topic` that hold records (one case's events share one)."""
    consumer = KafkaConsumer(**KafkaSecurity().client_config(), bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return {tp.partition for tp, end in consumer.end_offsets(tps).items() if end > 0}
    finally:
        consumer.close()
