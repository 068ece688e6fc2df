"""Publishing case events: acks=all and idempotent; `publish` returns only once Kafka has
acknowledged, and raises PublishError within a bounded time when it cannot."""

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from gridcase_contracts.codec import EncodedEvent, encode
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.topics import TopicSpec
from gridcase_runtime import metrics
from gridcase_runtime.health import NotReadyError
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.kafka_workarounds import (
    failed_for_good,
    request_new_producer_id_after_reset,
)
from gridcase_runtime.signing import RecordSigner


class PublishError(Exception):
    """Kafka did not acknowledge in time; the caller must not report success."""


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
        """The producer, created on first use and again after it failed for good; creation
        needs a reachable broker."""
        if self._producer is None or failed_for_good(self._producer):
            async with self._create_lock:
                if self._producer is not None and failed_for_good(self._producer):
                    stale, self._producer = self._producer, None
                    await asyncio.to_thread(_discard, stale)
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
            for (key, value, headers), acknowledged in zip(records, acknowledgements, strict=True):
                signed = self.signer.sign(key, value, headers)
                record = producer.send(self.topic.name, key=key, value=value, headers=signed)
                record.add_callback(_resolve_threadsafe, loop, acknowledged, None)
                record.add_errback(_fail_threadsafe, loop, acknowledged)

        try:
            async with asyncio.timeout(self.ack_timeout_s + 1):
                if producer._metadata.partitions_for_topic(self.topic.name) is None:
                    # send() blocks (up to max_block_ms) until the topic's metadata arrives
                    await asyncio.to_thread(send_all)
                else:
                    send_all()  # only appends to the sender thread's batches: no hand-off
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


def _discard(producer: KafkaProducer) -> None:
    """Closes a producer that failed for good, failing what it still holds."""
    producer._sender.force_close()
    producer.close(timeout=0)


FAILING_WINDOW_S = 30.0
"""How long a failed publish keeps the publisher unready unless a later one succeeds."""


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
