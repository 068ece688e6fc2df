"""The faust-streaming app: one agent over the case events, one changelog-backed table.

The table `case-stats` maps case_id to the case's whole statistical state (see
domain.case_state), written once per event. An event's source offset becomes committable
only once that write is on the broker, so after a crash the table recovered from the
changelog holds every event whose offset was committed; events replayed beyond that are
recognised by their event_id and skipped."""

import asyncio
import logging
import os
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

import faust
from faust.types.tuples import ConsumerMessage
from kafka import TopicPartition
from prometheus_client import Counter

from gridcase_contracts.topics import CASE_EVENTS, Headers
from gridcase_runtime import metrics
from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_runtime.kafka_consumer import dead_letter_headers
from gridcase_runtime.signing import UntrustedRecordError
from gridcase_runtime.streams import faust_app_settings
from gridcase_stats.adapters.replay import read_range, starting_offsets
from gridcase_stats.config import SERVICE, StatsSettings
from gridcase_stats.handlers import applied

log = logging.getLogger(__name__)

CASES_TABLE = "case-stats"

PASSED_OVER = Counter(
    "gridcase_statistics_passed_over_total",
    "Records faust's fetcher passed over after a rebalance, read again from the topic.",
)
REDELIVERIES = Counter(
    "gridcase_statistics_redeliveries_total",
    "Events delivered again (after a crash or rebalance) and skipped by their event_id.",
)


def _headers(message: Any) -> dict[str, bytes]:
    return {key: value for key, value in (message.headers or ()) if value is not None}


EXIT_STREAM_FAILED = 70
"""The exit status when a table write failed for good, or faust crashed (EX_SOFTWARE)."""


class Reread:
    """A record read again from the topic, standing in for the event faust passed over;
    acknowledged to faust's consumer like any."""

    def __init__(self, record: Any, consumer: Any) -> None:
        self.message = ConsumerMessage(
            record.topic,
            record.partition,
            record.offset,
            record.timestamp,
            record.timestamp_type,
            record.headers,
            record.key,
            record.value,
            None,
        )
        self.value = record.value
        self._consumer = consumer

    def ack(self) -> bool:
        return bool(self.message.ack(self._consumer))


class GaplessOffsets:
    """Hands the agent each partition's records without a gap, from where the consumer
    started reading it. faust's fetcher can move its read position past records it never
    delivered: after a rebalance, records fetched before the seek to the committed offsets
    still pass through it while the flow is stopped, each setting the read position, so the
    same records read again after the seek are dropped. (faust would then commit past them:
    its commit passes one unacknowledged record when the record after it is acknowledged.)
    So the records passed over are read again from the topic, and taken first."""

    def __init__(
        self,
        starts: Callable[[], Awaitable[dict[int, int]]],
        reread: Callable[[Any, int, int], Awaitable[list[Any]]],
    ) -> None:
        self._starts = starts
        self._reread = reread
        self._generation: int | None = None
        self._next: dict[int, int] = {}

    async def take(self, message: Any) -> list[Any]:
        """The records passed over before `message`, read again, in offset order."""
        if message.generation_id != self._generation or not self._next:
            self._next = dict(await self._starts())
            self._generation = message.generation_id
        partition = message.partition
        expected = self._next[partition]
        self._next[partition] = max(expected, message.offset + 1)
        if message.offset <= expected:
            return []
        log.warning(
            "%s/%s: faust passed over offsets %s to %s; reading them again",
            message.topic,
            message.partition,
            expected,
            message.offset - 1,
        )
        PASSED_OVER.inc(message.offset - expected)
        return await self._reread(message.tp, expected, message.offset)


class InOrderAcks:
    """Acknowledges each partition's records in offset order, each once what it wrote is
    delivered, which makes its offset committable. In order, because faust commits past
    an unacknowledged record when the one after it is acknowledged first. A write the
    producer gave up on is never acknowledged, nor is anything after it, and the process
    exits at once, as a crash would, to be restarted and take it again: a graceful stop
    would wait for ever for the acknowledgements faust still expects."""

    def __init__(self) -> None:
        self._pending: defaultdict[Any, deque[tuple[Any, asyncio.Future[Any] | None]]] = (
            defaultdict(deque)
        )

    def add(self, record: Any, written: "asyncio.Future[Any] | None") -> None:
        """`record` taken, with the delivery of what it wrote (None: it wrote nothing)."""
        pending = self._pending[record.message.tp]
        pending.append((record, written))
        if written is None:
            self._release(pending)
        else:
            written.add_done_callback(lambda _: self._release(pending))

    @staticmethod
    def _release(pending: deque[tuple[Any, "asyncio.Future[Any] | None"]]) -> None:
        while pending:
            record, written = pending[0]
            if written is not None:
                if not written.done():
                    return
                if written.cancelled() or written.exception() is not None:
                    message = record.message
                    log.critical(
                        "the write for %s/%s/%s failed; exiting",
                        message.topic,
                        message.partition,
                        message.offset,
                        exc_info=None if written.cancelled() else written.exception(),
                    )
                    os._exit(EXIT_STREAM_FAILED)
            pending.popleft()
            record.ack()


class CaseStream:
    """Owns the faust app; `snapshot()` copies the table, `recovered` says it is complete."""

    def __init__(self, settings: StatsSettings) -> None:
        self.verifier = settings.verifier()
        self.bootstrap_servers = settings.kafka_bootstrap_servers
        self.topic = settings.case_events_topic
        data_dir = settings.data_dir / settings.group_id
        data_dir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            **faust_app_settings(settings, app_id=settings.group_id, datadir=data_dir),
            broker_session_timeout=settings.session_timeout_s,
            broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        )
        self.source = self.app.topic(
            settings.case_events_topic.name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=CASE_EVENTS.partitions,
        )
        self.dlq = self.app.topic(
            settings.dlq_topic.name, key_serializer="raw", value_serializer="raw"
        )
        self.cases = self.app.Table(
            CASES_TABLE,
            partitions=CASE_EVENTS.partitions,
            key_type=str,
            help="case_id -> the case's statistical state with the ids of its applied events",
        )
        self.agent = self.app.agent(self.source, name="case-statistics")(self._process)
        self._watch: asyncio.Task[None] | None = None

    async def _process(self, stream: Any) -> None:
        """Acknowledges each event only once what it wrote (its case's new state in the
        changelog, or its dead letter) is on the broker. faust's own acknowledgement comes
        when the next event is taken, and the flush it does before committing can return
        with changelog records still in its buffer: a crash then left the table an event
        short of its committed offsets."""
        acks = InOrderAcks()
        offsets = GaplessOffsets(self.start_offsets, self.reread)
        async for record in stream.noack().events():
            for passed_over in await offsets.take(record.message):
                acks.add(passed_over, await self._handle(passed_over))
            acks.add(record, await self._handle(record))

    async def start_offsets(self) -> dict[int, int]:
        """Where the consumer reads each partition from in this generation: the committed
        offset faust sought to, or with none the partition's first."""
        return await asyncio.to_thread(
            starting_offsets, self.bootstrap_servers, self.app.conf.id, self.topic
        )

    async def reread(self, tp: Any, start: int, end: int) -> list[Reread]:
        """`tp`'s records from `start` up to `end` (excluded), read from the topic."""
        records = await asyncio.to_thread(
            read_range, self.bootstrap_servers, TopicPartition(*tp), start, end
        )
        return [Reread(record, self.app.consumer) for record in records]

    async def _handle(self, record: Any) -> "asyncio.Future[Any] | None":
        """Applies one record; returns the delivery of what it wrote, None if nothing."""
        message = record.message
        headers = _headers(message)
        try:
            event = self.verifier.event_of(message.key, record.value, list(headers.items()))
        except ValueError as error:
            return await self._dead_letter(message, headers, error)
        state = applied(self.cases, event)
        if state is None:
            REDELIVERIES.inc()
            return None
        self.cases.data[event.case_id] = state
        written = self.cases.send_changelog(message.partition, event.case_id, state)
        metrics.EVENTS_CONSUMED.labels(SERVICE, event.event_type).inc()
        ingest_ts = headers.get(Headers.INGEST_TS)
        if ingest_ts:
            metrics.observe_end_to_end(SERVICE, int(ingest_ts), time.time_ns())
        return cast("asyncio.Future[Any]", written)

    async def _dead_letter(
        self, message: Any, headers: dict[str, bytes], error: Exception
    ) -> "asyncio.Future[Any]":
        log.warning(
            "dead-lettering %s/%s/%s: %s", message.topic, message.partition, message.offset, error
        )
        delivery = await self.dlq.send(
            key=message.key,
            value=message.value,
            headers=dead_letter_headers(
                list(headers.items()),
                error,
                source=(message.topic, message.partition, message.offset),
                consumer=self.app.conf.id,
            ),
        )
        reason = error.reason if isinstance(error, UntrustedRecordError) else "invalid"
        metrics.DLQ_RECORDS.labels(SERVICE, reason).inc()
        return cast("asyncio.Future[Any]", delivery)

    @property
    def recovered(self) -> bool:
        """True once the table is recovered from its changelog and events flow."""
        app = self.app
        return bool(
            app.started
            and not app.crashed
            and not app.rebalancing
            and cast(Any, app.tables).recovery.completed.is_set()
        )

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the table's values; call it on the event loop (the agent's), never
        from a worker thread, where the agent's writes would break the iteration."""
        return list(self.cases.values())

    async def start(self) -> None:
        await self.app.start()
        self._watch = asyncio.create_task(self.exit_when_crashed())  # kept: tasks are weak

    async def exit_when_crashed(self) -> None:
        """faust marks the app crashed when one of its services dies (the producer's
        buffer, say) and then works no more, waiting for acknowledgements that never
        come; the process ends then, as a crash would, to be restarted."""
        await self.app.wait_until_stopped()  # stopped or crashed
        if self.app.crashed:
            log.critical("the stream crashed (%r); exiting", self.app.crash_reason)
            os._exit(EXIT_STREAM_FAILED)

    async def stop(self) -> None:
        await self.app.stop()


class LiveCaseSource:
    """The faust stream over the case events, made when started: its topics must exist
    first, and faust binds to the event loop it is made on."""

    def __init__(self, settings: StatsSettings) -> None:
        self.settings = settings
        self.stream: CaseStream | None = None

    @property
    def recovered(self) -> bool:
        return self.stream is not None and self.stream.recovered

    def snapshot(self) -> list[dict[str, Any]]:
        return self.stream.snapshot() if self.stream else []

    async def start(self) -> None:
        await ensure_case_topics(self.settings)
        self.stream = CaseStream(self.settings)
        await self.stream.start()

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
