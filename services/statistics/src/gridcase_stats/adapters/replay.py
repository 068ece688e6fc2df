"""Reads the case-events topic from its earliest offset with a plain kafka-python consumer
(no faust, no consumer group), independent of the live service."""

import logging
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition

from gridcase_contracts.events import CaseEvent
from gridcase_contracts.topics import TopicSpec
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.signing import Verifier

log = logging.getLogger(__name__)


class TopicReplay:
    """Replays every partition from the beginning; `read_to_end` can be called again to
    read what arrived since."""

    def __init__(self, bootstrap_servers: str, topic: TopicSpec, verifier: Verifier) -> None:
        self.verifier = verifier
        self._consumer = KafkaConsumer(
            **KafkaSecurity().client_config(),
            bootstrap_servers=bootstrap_servers,
            client_id="gridcase-stats-reconcile",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
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
