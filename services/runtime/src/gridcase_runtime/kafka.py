"""Kafka on kafka-python, following the delivery rules every service shares.

- EventPublisher: acks=all, idempotent producer; `publish` returns only once Kafka has
  acknowledged, and raises PublishError within a bounded time when it cannot.
- EventConsumer: manual commit after the batch handler finished (its Mongo writes
  acknowledged); unparsable or schema-violating records go to the dead-letter topic with
  error headers; transient errors are retried with backoff; a record that fails on its own
  with a non-transient error is dead-lettered so the partition keeps flowing.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.producer.transaction_manager import TransactionState

from gridcase_contracts.codec import EncodedEvent, encode
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import CaseEvent
from gridcase_contracts.topics import Headers, TopicSpec
from gridcase_runtime import metrics
from gridcase_runtime.health import NotReadyError
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.outages import is_transient
from gridcase_runtime.settings import ServiceSettings
from gridcase_runtime.signing import RecordSigner, UntrustedRecordError, Verifier

log = logging.getLogger(__name__)


class PublishError(Exception):
    """Kafka did not acknowledge in time; the caller must not report success."""


class PoisonEventError(Exception):
    """A handler's verdict that one event can never be processed (it goes to the DLQ)."""


def ensure_topics(
    bootstrap_servers: str,
    specs: Sequence[TopicSpec],
    *,
    replication_factor: int = 1,
    timeout_s: float = 30,
) -> None:
    """Creates the topics with their declared partition counts, unless they exist."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(
                **KafkaSecurity().client_config(),
                bootstrap_servers=bootstrap_servers,
                client_id="gridcase-admin",
                request_timeout_ms=10_000,
            )
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                spec.name,
                spec.partitions,
                replication_factor,
                topic_configs={"retention.ms": str(spec.retention_ms)},
            )
            for spec in specs
            if spec.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing, timeout_ms=int(timeout_s * 1000))
        for spec in specs:
            _wait_for_partitions(admin, spec, deadline)
    finally:
        admin.close()


def _wait_for_partitions(admin: KafkaAdminClient, spec: TopicSpec, deadline: float) -> None:
    while True:
        described = admin.describe_topics([spec.name])
        partitions = len(described[0].get("partitions", [])) if described else 0
        if partitions >= spec.partitions:
            return
        if time.monotonic() > deadline:
            raise KafkaError(f"topic {spec.name} has {partitions} of {spec.partitions} partitions")
        time.sleep(0.2)


async def ensure_case_topics(settings: ServiceSettings) -> None:
    """Creates the case-events topic and its dead-letter topic for a service's settings."""
    await asyncio.to_thread(
        ensure_topics,
        settings.kafka_bootstrap_servers,
        [settings.case_events_topic, settings.dlq_topic],
        replication_factor=settings.kafka_replication_factor,
    )


class EventPublisher:
    """Sends case events and waits for Kafka's acknowledgement (acks=all, idempotent)."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: TopicSpec,
        *,
        service: str,
        signer: RecordSigner,
        ack_timeout_s: float = 10.0,
        linger_ms: int = 2,
    ) -> None:
        self.topic = topic
        self.service = service
        self.signer = signer
        self.ack_timeout_s = ack_timeout_s
        self._config: dict[str, Any] = {
            **KafkaSecurity().client_config(),
            "bootstrap_servers": bootstrap_servers,
            "client_id": f"gridcase-{service}",
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": linger_ms,
            # Blocking for metadata plus delivery stay within ack_timeout_s, so a send that
            # publish() gave up on cannot still land afterwards.
            "max_block_ms": int(ack_timeout_s * 500),
            "bootstrap_timeout_ms": int(ack_timeout_s * 1000),
            "request_timeout_ms": int(ack_timeout_s * 500) - linger_ms - 1,
            "delivery_timeout_ms": int(ack_timeout_s * 500),
            "retry_backoff_ms": 100,
            "reconnect_backoff_max_ms": 1000,
            "compression_type": None,
        }
        self._producer: KafkaProducer | None = None
        self._create_lock = asyncio.Lock()
        self._last_failure: float | None = None
        """When the latest publish failed (monotonic), or None once one succeeded since."""

    async def _ready_producer(self) -> KafkaProducer:
        """The producer, created on first use; creation needs a reachable broker."""
        if self._producer is None:
            async with self._create_lock:
                if self._producer is None:
                    try:
                        producer = await asyncio.to_thread(KafkaProducer, **self._config)
                    except KafkaError as error:
                        raise PublishError(f"Kafka unreachable: {error}") from error
                    request_new_producer_id_after_reset(producer)
                    self._producer = producer
        return self._producer

    async def check_ready(self) -> None:
        """Raises NotReadyError naming what keeps an event from being published now: no
        broker to create the producer with, its sender thread gone, no producer id from the
        broker (the idempotent producer sends nothing without one), or publishes failing
        in the last FAILING_WINDOW_S seconds."""
        try:
            producer = await self._ready_producer()
        except PublishError as error:
            raise NotReadyError("unreachable") from error
        if not producer._sender.is_alive():
            raise NotReadyError("sender stopped")
        if not producer._transaction_manager.has_producer_id():
            raise NotReadyError("no producer id")
        failed = self._last_failure
        if failed is not None and time.monotonic() - failed < FAILING_WINDOW_S:
            raise NotReadyError("publishes failing")

    async def publish(self, event: Envelope, *, ingest_ts_ns: int | None = None) -> None:
        await self.publish_many([event], ingest_ts_ns=ingest_ts_ns)

    async def publish_many(
        self, events: Sequence[Envelope], *, ingest_ts_ns: int | None = None
    ) -> None:
        """Sends all `events`; returns when every one is acknowledged, else raises PublishError."""
        await self.publish_encoded(
            [encode(event, ingest_ts_ns=ingest_ts_ns) for event in events],
            [event.event_type for event in events],
        )

    async def publish_encoded(
        self, records: Sequence[EncodedEvent], event_types: Sequence[str]
    ) -> None:
        """Sends already-encoded events (an outbox's) in order and waits for every ack."""
        if not records:
            return
        producer = await self._ready_producer()
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        acknowledgements: list[asyncio.Future[None]] = [loop.create_future() for _ in records]

        def send_all() -> None:
            # In a thread: send() blocks (up to max_block_ms) while topic metadata is missing.
            for (key, value, headers), acknowledged in zip(records, acknowledgements, strict=True):
                signed = self.signer.sign(key, value, headers)
                record = producer.send(self.topic.name, key=key, value=value, headers=signed)
                record.add_callback(_resolve_threadsafe, loop, acknowledged, None)
                record.add_errback(_fail_threadsafe, loop, acknowledged)

        try:
            async with asyncio.timeout(self.ack_timeout_s + 1):
                await asyncio.to_thread(send_all)
                await asyncio.gather(*acknowledgements)
        except (KafkaError, TimeoutError) as error:
            for acknowledged in acknowledgements:
                if not acknowledged.done():
                    acknowledged.cancel()
            metrics.PUBLISH_FAILURES.labels(self.service).inc()
            self._last_failure = time.monotonic()
            raise PublishError(f"Kafka did not acknowledge: {error!r}") from error
        self._last_failure = None
        metrics.PUBLISH_LATENCY.labels(self.service).observe(time.perf_counter() - started)
        for event_type in event_types:
            metrics.EVENTS_PUBLISHED.labels(self.service, event_type).inc()

    async def send_raw(
        self, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        """Sends one record as is (the dead-letter path) and waits for its acknowledgement."""
        producer = await self._ready_producer()

        def send_and_wait() -> None:
            producer.send(topic, key=key, value=value, headers=headers).get(self.ack_timeout_s)

        await asyncio.to_thread(send_and_wait)

    def close(self, timeout_s: float = 5.0) -> None:
        """Sends what is pending for up to `timeout_s`, then drops the rest (a publish
        waiting for it has failed by then)."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=timeout_s)
            except KafkaTimeoutError:
                # kafka-python raises here and leaves its sender running; stopping it fails
                # the pending records, so that the second close returns at once.
                self._producer._sender.force_close()
                self._producer.close(timeout=timeout_s)
            self._producer = None


FAILING_WINDOW_S = 30.0
"""How long a failed publish keeps the publisher unready unless a later one succeeds."""


def request_new_producer_id_after_reset(producer: KafkaProducer) -> None:
    """Works around a kafka-python 3.0.12 stall of the idempotent producer. When a batch
    already sent to the broker expires (the broker died or stalled with it in flight), the
    sender drops the producer id but leaves the transaction manager READY, and it asks for
    a new id only from UNINITIALIZED. From then on every batch waits for an id nobody
    requests, none expires, and every publish times out until the process restarts.
    Returning to UNINITIALIZED after the reset, as the Java client does, makes the sender
    request a new producer id as soon as a broker answers."""
    manager = producer._transaction_manager
    reset = manager.reset_producer_id

    def reset_and_request_new_id() -> None:
        with manager._lock:
            reset()
            manager._current_state = TransactionState.UNINITIALIZED

    manager.reset_producer_id = reset_and_request_new_id


def _resolve_threadsafe(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], value: None, _metadata: object
) -> None:
    loop.call_soon_threadsafe(_set_result, future, value)


def _fail_threadsafe(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], error: BaseException
) -> None:
    loop.call_soon_threadsafe(_set_exception, future, error)


def _set_result(future: asyncio.Future[None], value: None) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[None], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error if isinstance(error, Exception) else KafkaError(str(error)))


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


def finish_stalled_rebalance(consumer: KafkaConsumer) -> None:
    """Works around a kafka-python 3.0.12 stall. When a metadata change makes the group
    leader rejoin and the join outlasts one poll(), the leader's own new assignment clears
    the reason to rejoin before a later poll() collects the join's result: the member then
    stays "rebalancing" for good, sends no heartbeats, cannot commit, and the broker expels
    it while it keeps fetching. Asking for a rejoin makes the next poll() finish one."""
    coordinator = consumer._coordinator
    if coordinator.rebalance_in_progress() and not coordinator.need_rejoin():
        log.warning("the group join stalled half-way; rejoining")
        coordinator.request_rejoin()


def _ingest_ts(headers: list[tuple[str, bytes]] | None) -> int | None:
    for name, value in headers or []:
        if name == Headers.INGEST_TS:
            try:
                return int(value)
            except ValueError:
                return None
    return None
