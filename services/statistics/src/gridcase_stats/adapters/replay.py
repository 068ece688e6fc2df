"""Reads the case-events topic with a plain kafka-python consumer (no faust, no consumer
group): from its earliest offset, independent of the live service, or a range of one
partition for the live service itself."""

import logging
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from gridcase_contracts.events import CaseEvent
from gridcase_contracts.topics import TopicSpec
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.signing import Verifier

log = logging.getLogger(__name__)


def _reader(bootstrap_servers: str, client_id: str, group_id: str | None = None) -> KafkaConsumer:
    """A consumer that joins no group (`group_id` only names whose offsets to ask for)."""
    return KafkaConsumer(
        **KafkaSecurity().client_config(),
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


def starting_offsets(bootstrap_servers: str, group_id: str, topic: TopicSpec) -> dict[int, int]:
    """Where the consumer group `group_id` starts reading each partition of `topic`: its
    committed offset, or with none the partition's first (asked of the broker, the group
    left as it is)."""
    consumer = _reader(bootstrap_servers, "gridcase-stats-reread", group_id)
    try:
        tps = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        committed: dict[TopicPartition, int | None] = {tp: consumer.committed(tp) for tp in tps}
        uncommitted = [tp for tp, offset in committed.items() if offset is None]
        first = consumer.beginning_offsets(uncommitted) if uncommitted else {}
        return {
            tp.partition: first[tp] if offset is None else offset
            for tp, offset in committed.items()
        }
    finally:
        consumer.close()


def read_range(bootstrap_servers: str, tp: TopicPartition, start: int, end: int) -> list[Any]:
    """The records of `tp` from offset `start` up to `end` (excluded), as kafka-python's
    ConsumerRecords."""
    consumer = _reader(bootstrap_servers, "gridcase-stats-reread")
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        records: list[Any] = []
        while consumer.position(tp) < end:
            for batch in consumer.poll(timeout_ms=500, max_records=end - start).values():
                records.extend(record for record in batch if record.offset < end)
        return records
    finally:
        consumer.close()


class TopicReplay:
    """Replays every partition from the beginning; `read_to_end` can be called again to
    read what arrived since."""

    def __init__(self, bootstrap_servers: str, topic: TopicSpec, verifier: Verifier) -> None:
        self.verifier = verifier
        self._consumer = _reader(bootstrap_servers, "gridcase-stats-reconcile")
        self._partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        self._consumer.assign(self._partitions)
        self._consumer.seek_to_beginning(*self._partitions)
        self.skipped = 0
        """Records that are not valid, signed events (the live service dead-letters them)."""

    def read_to_end(self, handle: Callable[[CaseEvent], object]) -> int:
        """Passes every record up to the current end of each partition to `handle`;
        returns how many records were read."""
        end = self._consumer.end_offsets(self._partitions)
        read = 0
        while any(self._consumer.position(tp) < end[tp] for tp in self._partitions):
            for records in self._consumer.poll(timeout_ms=500, max_records=2000).values():
                for record in records:
                    read += 1
                    try:
                        event = self.verifier.event_of(
                            record.key, record.value, record.headers or []
                        )
                    except ValueError as error:
                        self.skipped += 1
                        log.warning(
                            "skipping invalid record at offset %s: %s", record.offset, error
                        )
                        continue
                    handle(event)
        return read

    def close(self) -> None:
        self._consumer.close()
