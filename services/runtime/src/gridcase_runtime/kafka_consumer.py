"""Consuming case events in batches, at least once: offsets are committed after the batch
handler finished (its Mongo writes acknowledged); unparsable, unsigned or schema-violating
records go to the dead-letter topic with error headers; transient errors are retried with
backoff; a record that fails on its own with a non-transient error is dead-lettered so the
partition keeps flowing."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from gridcase_contracts.events import CaseEvent
from gridcase_contracts.topics import Headers, TopicSpec
from gridcase_runtime import metrics
from gridcase_runtime.faults import crash_at
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.kafka_workarounds import finish_stalled_rebalance
from gridcase_runtime.outages import is_transient
from gridcase_runtime.signing import UntrustedRecordError, Verifier

log = logging.getLogger(__name__)


class PoisonEventError(Exception):
    """A handler's verdict that one event can never be processed (it goes to the DLQ)."""


def dead_letter_headers(
    headers: Sequence[tuple[str, bytes]],
    error: BaseException,
    *,
    source: tuple[str, int, int],
    consumer: str,
) -> list[tuple[str, bytes]]:
    """A dead-lettered record's headers: its own, plus what failed, where, and for whom."""
    topic, partition, offset = source
    return [
        *headers,
        (Headers.DLQ_ERROR, str(error)[:2000].encode()),
        (Headers.DLQ_ERROR_TYPE, type(error).__name__.encode()),
        (Headers.DLQ_SOURCE, f"{topic}/{partition}/{offset}".encode()),
        (Headers.DLQ_CONSUMER, consumer.encode()),
    ]


@dataclass(frozen=True)
class Delivery:
    """One consumed, validated event with where it came from."""

    event: CaseEvent
    topic: str
    partition: int
    offset: int
    ingest_ts_ns: int | None = None


BatchHandler = Callable[[list[Delivery]], Awaitable[None]]


class EventConsumer:
    """Consumes case events in batches, at least once, committing after each handled batch."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: TopicSpec,
        dlq_topic: TopicSpec,
        *,
        group_id: str,
        service: str,
        handle_batch: BatchHandler,
        dead_letters: EventPublisher,
        verifier: Verifier,
        max_batch: int = 500,
        poll_timeout_ms: int = 200,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.group_id = group_id
        self.service = service
        self.handle_batch = handle_batch
        self.dead_letters = dead_letters
        self.verifier = verifier
        self.max_batch = max_batch
        self.poll_timeout_ms = poll_timeout_ms
        self.max_backoff_s = max_backoff_s
        self._config: dict[str, Any] = {
            **KafkaSecurity().client_config(),
            "bootstrap_servers": bootstrap_servers,
            "group_id": group_id,
            "client_id": f"gridcase-{service}",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": max_batch,
            "max_poll_interval_ms": 300_000,
            # Generous: on a busy 2-core host the heartbeat thread can stall for seconds,
            # and an expelled member turns every commit into a rebalance. A clean shutdown
            # leaves the group at once, so restarts do not wait for this.
            "session_timeout_ms": 30_000,
            "heartbeat_interval_ms": 3_000,
            "fetch_max_wait_ms": 50,
            "reconnect_backoff_max_ms": 1000,
            "metadata_max_age_ms": 30_000,
        }
        self._consumer: KafkaConsumer | None = None
        self._next_offset: dict[TopicPartition, int] = {}
        self._uncommitted: dict[TopicPartition, OffsetAndMetadata] = {}
        self._stopping = asyncio.Event()
        self.started = asyncio.Event()
        """Set once the consumer has joined its group and holds partitions."""

    def stop(self) -> None:
        self._stopping.set()

    def _subscribed_consumer(self) -> KafkaConsumer:
        """A consumer subscribed once it knows the topic's partitions. Joining the group
        before the topic's metadata arrived would leave it without partitions until the
        next metadata refresh."""
        consumer = KafkaConsumer(**self._config)
        deadline = time.monotonic() + 30
        while not consumer.partitions_for_topic(self.topic.name):
            if time.monotonic() > deadline:
                consumer.close()
                raise KafkaError(f"topic {self.topic.name} has no partitions yet")
            time.sleep(0.2)
        consumer.subscribe([self.topic.name])
        return consumer

    async def run(self) -> None:
        """Consumes until `stop()`; never returns early on errors it can retry."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                self._consumer = await asyncio.to_thread(self._subscribed_consumer)
                break
            except KafkaError as error:
                log.warning("Kafka unreachable for %s, retrying: %s", self.group_id, error)
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        consumer = self._consumer
        if consumer is None:
            return
        try:
            while not self._stopping.is_set():
                try:
                    polled = await asyncio.to_thread(
                        consumer.poll, timeout_ms=self.poll_timeout_ms, max_records=self.max_batch
                    )
                except KafkaError as error:
                    log.warning("poll failed for %s: %s", self.group_id, error)
                    await self._sleep(1.0)
                    continue
                finish_stalled_rebalance(consumer)
                if consumer.assignment():
                    self.started.set()
                elif not polled:
                    await self._sleep(self.poll_timeout_ms / 1000)  # between rebalances
                if polled:
                    try:
                        await self._process(
                            consumer, [r for records in polled.values() for r in records]
                        )
                    except Exception as error:
                        if is_transient(error) and self._stopping.is_set():
                            break  # left uncommitted: redelivered to the partitions' next owner
                        raise
                if self._uncommitted and not polled:
                    await self._commit_processed(consumer)
                self._report_lag(consumer)
        finally:
            await asyncio.to_thread(consumer.close)
            self._consumer = None

    async def _process(self, consumer: KafkaConsumer, records: list[Any]) -> None:
        started = time.perf_counter()
        deliveries: list[Delivery] = []
        for record in records:
            try:
                event = self.verifier.event_of(record.key, record.value, record.headers or [])
            except UntrustedRecordError as error:
                await self._dead_letter(record, error, reason=error.reason)
                continue
            except ValueError as error:
                await self._dead_letter(record, error, reason="invalid")
                continue
            deliveries.append(
                Delivery(
                    event, record.topic, record.partition, record.offset, _ingest_ts(record.headers)
                )
            )
        if deliveries:
            await self._handle_with_retries(deliveries, records)
            finished_ns = time.time_ns()
            for delivery in deliveries:
                metrics.EVENTS_CONSUMED.labels(self.service, delivery.event.event_type).inc()
                if delivery.ingest_ts_ns:
                    metrics.observe_end_to_end(self.service, delivery.ingest_ts_ns, finished_ns)
        metrics.PROCESSING_LATENCY.labels(self.service).observe(time.perf_counter() - started)
        crash_at("after-store-before-commit")
        await self._commit(consumer, records)

    async def _handle_with_retries(self, deliveries: list[Delivery], records: list[Any]) -> None:
        by_offset = {(r.topic, r.partition, r.offset): r for r in records}
        try:
            await self._retry_transient(lambda: self.handle_batch(deliveries))
            return
        except PoisonEventError:
            pass
        except Exception as error:
            if is_transient(error):
                raise  # only while stopping: the batch stays uncommitted and is redelivered
            log.exception("batch failed in %s; handling its events one by one", self.group_id)
        for delivery in deliveries:
            try:
                await self._retry_transient(lambda d=delivery: self.handle_batch([d]))  # type: ignore[misc]
            except Exception as error:
                if is_transient(error):
                    raise
                record = by_offset[(delivery.topic, delivery.partition, delivery.offset)]
                reason = "poison" if isinstance(error, PoisonEventError) else "handler-error"
                await self._dead_letter(record, error, reason=reason)

    async def _retry_transient(self, attempt: Callable[[], Awaitable[None]]) -> None:
        backoff = 0.2
        while True:
            try:
                await attempt()
                return
            except Exception as error:
                if not is_transient(error) or self._stopping.is_set():
                    raise
                metrics.PROCESSING_RETRIES.labels(self.service).inc()
                log.warning(
                    "transient error in %s, retrying in %.1fs: %r", self.group_id, backoff, error
                )
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    async def _dead_letter(self, record: Any, error: BaseException, *, reason: str) -> None:
        headers = dead_letter_headers(
            record.headers or [],
            error,
            source=(record.topic, record.partition, record.offset),
            consumer=self.group_id,
        )
        log.error(
            "dead-lettering %s/%s/%s: %s", record.topic, record.partition, record.offset, error
        )
        await self._retry_transient(
            lambda: self.dead_letters.send_raw(
                self.dlq_topic.name, record.value or b"", key=record.key, headers=headers
            )
        )
        metrics.DLQ_RECORDS.labels(self.service, reason).inc()

    async def _commit(self, consumer: KafkaConsumer, records: list[Any]) -> None:
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            self._uncommitted[partition] = OffsetAndMetadata(record.offset + 1)
        await self._commit_processed(consumer)

    async def _commit_processed(self, consumer: KafkaConsumer) -> None:
        """Commits what was processed; after a failure (a rebalance, the coordinator moving)
        the offsets of partitions still held are tried again on the next loop, so a quiet
        partition does not keep a stale committed offset. Partitions that moved elsewhere
        are redelivered to their new owner; handlers are idempotent."""
        assigned = consumer.assignment()
        offsets = {tp: meta for tp, meta in self._uncommitted.items() if tp in assigned}
        self._uncommitted = offsets
        if not offsets:
            return
        try:
            await asyncio.to_thread(consumer.commit, offsets)
        except KafkaError as error:
            log.warning("commit failed; will retry or redeliver: %r", error)
            return
        self._next_offset.update({tp: meta.offset for tp, meta in offsets.items()})
        self._uncommitted = {}

    def _report_lag(self, consumer: KafkaConsumer) -> None:
        assigned = consumer.assignment()
        for partition in list(self._next_offset):
            if partition not in assigned:
                del self._next_offset[partition]
        for partition, next_offset in self._next_offset.items():
            end = consumer.highwater(partition)
            if end is not None:
                metrics.CONSUMER_LAG.labels(
                    self.service, partition.topic, str(partition.partition)
                ).set(max(0, end - next_offset))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _ingest_ts(headers: list[tuple[str, bytes]] | None) -> int | None:
    for name, value in headers or []:
        if name == Headers.INGEST_TS:
            try:
                return int(value)
            except ValueError:
                return None
    return None
