"""Raw baselines, measured in the same run with the same report and client settings as the
services: what this machine does without gridcase's code in the way.

- B_http: the no-op FastAPI endpoint (noop_servers.py), saturated by the same generator.
- generator ceiling: the same generator against a constant-answer asyncio server; and
  B_http once more with httpx as the client, to show why the raw client is the default.
- B_produce / B_consume: kafka-python loops with the exact settings of the runtime's
  EventPublisher (acks=all, idempotent) and EventConsumer (batch of 500, commit per batch).
- B_mongo: motor upserts (by _id; with --mongo-driver pymongo, PyMongo's AsyncMongoClient)
  of a ~1 KB case document with majority write concern, in unordered bulk batches of the
  consumer's batch size; B_mongo_single: one upsert per round trip, the way the services
  write today, from 64 concurrent writers on distinct documents (as the services'
  consumers write many cases at once), and from one writer alone.
- B_lat: produce one record, consume it, upsert it; the round trip's p50 and p99.
"""

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from pymongo import ASCENDING, DESCENDING, UpdateOne

from gridcase_contracts.codec import EncodedEvent, encode
from gridcase_contracts.codes import Service
from gridcase_contracts.topics import CASE_EVENTS, CASE_EVENTS_DLQ, TopicSpec
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_consumer import EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import DRIVER_VARIABLE, MongoDatabase, close, connect
from tests.bench.httpload import Load, LoadResult, Target, new_histogram, run_load
from tests.bench.signing import measure_signing
from tests.bench.workload import case_reported
from tests.producers import AsProducers, key_of, trusted

ROOT = Path(__file__).resolve().parents[2]
CONSUMER_BATCH = 500
"""EventConsumer's default max_batch: the batch size of every service's consumer."""
CONCURRENT_WRITERS = 64
"""Writers of B_mongo_single; motor runs at most 5 x cores of their operations at once."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def reference_server(kind: str) -> Iterator[int]:
    """Runs noop_servers.py `kind` in its own process on a free port; yields the port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.noop_servers", kind, str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} reference server did not start")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def saturate(kind: str, load: Load) -> LoadResult:
    """Closed-loop capacity of a reference server."""
    with reference_server(kind) as port:
        run_load(Target(port, authenticated=False), Load(None, 1.0, load.connections))  # warm-up
        return run_load(Target(port, authenticated=False), load)


# --- Kafka ------------------------------------------------------------------------------


def encoded_reports(count: int, first: int = 0) -> list[EncodedEvent]:
    """CaseReported events numbered from `first`, as intake publishes them (signed)."""
    intake = key_of(Service.INTAKE)
    records = []
    for n in range(first, first + count):
        event = case_reported(n, f"GC-20250101-{n:08d}")
        key, value, headers = encode(event, ingest_ts_ns=time.time_ns())
        records.append((key, value, intake.sign(key, value, headers)))
    return records


def producer_settings(bootstrap: str, topic: TopicSpec) -> dict[str, Any]:
    """Exactly the runtime publisher's client settings."""
    return dict(EventPublisher(bootstrap, topic, service="bench", signer=AsProducers())._config)


def consumer_settings(bootstrap: str, topic: TopicSpec, group: str) -> dict[str, Any]:
    """Exactly the runtime consumer's client settings, in group `group`."""

    async def nothing(_batch: list[Any]) -> None:
        return None

    consumer = EventConsumer(
        bootstrap,
        topic,
        CASE_EVENTS_DLQ,
        group_id=group,
        service="bench",
        handle_batch=nothing,
        dead_letters=EventPublisher(bootstrap, topic, service="bench", signer=AsProducers()),
        verifier=trusted(),
    )
    return dict(consumer._config)


PRODUCE_WINDOW = 5000


def produce_loop(
    bootstrap: str, topic: TopicSpec, records: list[EncodedEvent], seconds: float
) -> tuple[int, float]:
    """Sends records back to back for `seconds` (cycling through `records`) with at most
    `PRODUCE_WINDOW` unacknowledged, then waits for every acknowledgement. The window keeps
    records from waiting in the client longer than the services' delivery timeout (they
    would expire unsent). Returns (records acknowledged, acknowledged per second)."""
    producer = KafkaProducer(**producer_settings(bootstrap, topic))
    try:
        for key, value, headers in records[:100]:  # connect, fetch metadata, warm up
            producer.send(topic.name, key=key, value=value, headers=headers)
        producer.flush()
        in_flight: deque[Any] = deque()
        acknowledged = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            for key, value, headers in records:
                in_flight.append(producer.send(topic.name, key=key, value=value, headers=headers))
                if len(in_flight) > PRODUCE_WINDOW:
                    in_flight.popleft().get(timeout=30)  # raises if it was not delivered
                    acknowledged += 1
        producer.flush()
        while in_flight:
            in_flight.popleft().get(timeout=30)
            acknowledged += 1
        return acknowledged + 100, acknowledged / (time.perf_counter() - started)
    finally:
        producer.close()


def consume_loop(bootstrap: str, topic: TopicSpec, expected: int, timeout_s: float) -> float:
    """Reads `expected` records from the start in a new group, committing after every
    polled batch as the services do. Returns records per second from the first record."""
    consumer = KafkaConsumer(
        topic.name, **consumer_settings(bootstrap, topic, f"bench-raw-{uuid.uuid4().hex[:8]}")
    )
    try:
        seen = 0
        started: float | None = None
        deadline = time.monotonic() + timeout_s
        while seen < expected and time.monotonic() < deadline:
            polled = consumer.poll(timeout_ms=200, max_records=CONSUMER_BATCH)
            if not polled:
                continue
            started = started or time.perf_counter()
            offsets = {}
            for partition, records in polled.items():
                seen += len(records)
                offsets[partition] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            consumer.commit(offsets)
        if started is None or seen < expected:
            raise RuntimeError(f"B_consume read {seen} of {expected} records")
        return seen / (time.perf_counter() - started)
    finally:
        consumer.close()


# --- MongoDB ----------------------------------------------------------------------------


def case_document(sequence: int) -> tuple[str, str, dict[str, Any]]:
    event = case_reported(sequence, f"GC-20250101-{sequence:08d}")
    payload = event.payload.model_dump(mode="json")
    document = {
        **payload,
        "status": "reported",
        "department": "housing-bureau",
        "reported_at": event.occurred_at,
        "updated_at": event.occurred_at,
    }
    return event.case_id, str(event.event_id), document


def upsert(case_id: str, event_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """An upsert of one case by _id that records the event's id, as the services' writes do.

    Deliberately without the services' `"event_ids": {"$ne": event_id}` guard in the filter:
    FerretDB 1.24 cannot push that condition down to SQLite and scans the collection for it,
    so the guarded upsert slows down as the collection grows (48/s on 150 documents here)."""
    return {
        "filter": {"_id": case_id},
        "update": {"$set": document, "$push": {"event_ids": event_id}},
        "upsert": True,
    }


async def prepared_collection(database: MongoDatabase, name: str) -> Any:
    collection = database[name]
    for keys in (
        [("department", ASCENDING), ("status", ASCENDING)],
        [("category", ASCENDING), ("location.lat", ASCENDING)],
        [("reported_at", DESCENDING)],
    ):
        await collection.create_index(keys)
    return collection


@dataclass(frozen=True)
class Upserts:
    per_s: float
    client_cpu_us: float
    """This process's CPU time per upsert (the driver's share of the cost)."""


async def mongo_upserts(
    database: MongoDatabase, seconds: float, batch: int, writers: int = 1
) -> Upserts:
    """Upserts per second for `seconds` from `writers` concurrent writers, each on its own
    documents: unordered bulk writes of `batch` (batch > 1), or one update_one per round trip
    (batch == 1); majority write concern (the runtime's client)."""
    collection = await prepared_collection(database, f"bench_upserts_{batch}x{writers}")
    documents = [case_document(n) for n in range(5000)]
    await collection.update_one(**upsert(*documents[0]))  # connect
    numbers = itertools.count()
    written = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    deadline = started + seconds

    async def writer() -> None:
        nonlocal written
        while time.perf_counter() < deadline:
            writes = []
            for n in (next(numbers) for _ in range(batch)):
                case_id, event_id, document = documents[n % len(documents)]
                writes.append(upsert(f"{case_id}-{n}", event_id, document))
            if batch == 1:
                await collection.update_one(**writes[0])
            else:
                await collection.bulk_write([UpdateOne(**w) for w in writes], ordered=False)
            written += batch

    await asyncio.gather(*(writer() for _ in range(writers)))
    cpu_s = time.process_time() - cpu_started
    return Upserts(written / (time.perf_counter() - started), cpu_s * 1e6 / max(written, 1))


# --- round trip -------------------------------------------------------------------------


async def round_trips(
    bootstrap: str, topic: TopicSpec, database: MongoDatabase, count: int
) -> HdrHistogram:
    """Latency (µs) of produce -> consume -> one upsert, one record at a time."""
    collection = await prepared_collection(database, "bench_round_trip")
    producer = KafkaProducer(**producer_settings(bootstrap, topic))
    consumer = KafkaConsumer(
        **consumer_settings(bootstrap, topic, f"bench-lat-{uuid.uuid4().hex[:8]}")
    )
    partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_end()
    for partition in partitions:
        consumer.position(partition)
    histogram = new_histogram()
    records = encoded_reports(64)
    try:
        for n in range(count + 10):
            key, value, headers = records[n % len(records)]
            started = time.perf_counter()
            await asyncio.to_thread(
                producer.send(topic.name, key=key, value=value, headers=headers).get, 10
            )
            received: list[Any] = []
            while not received:
                polled = await asyncio.to_thread(
                    consumer.poll, timeout_ms=200, max_records=CONSUMER_BATCH
                )
                received = [r for batch in polled.values() for r in batch]
            case_id, event_id, document = case_document(n)
            await collection.update_one(**upsert(f"{case_id}-lat", event_id, document))
            if n >= 10:  # the first ones warm the connections up
                histogram.record_value(max(1, int((time.perf_counter() - started) * 1e6)))
    finally:
        producer.close()
        consumer.close()
    return histogram


# --- all of them ------------------------------------------------------------------------


def run_baselines(
    bootstrap: str,
    mongo_url: str,
    namespace: str,
    *,
    seconds: float,
    connections: int,
    lat_count: int,
    say: Any,
) -> dict[str, Any]:
    """Every baseline; returns their figures."""
    figures: dict[str, Any] = {}
    http_load = Load(None, seconds, connections)
    say("B_http: no-op FastAPI endpoint, one uvicorn worker, closed loop ...")
    b_http = saturate("fastapi", http_load)
    figures["B_http"] = b_http.summary()
    say(f"  B_http {b_http.ok_rate:.0f}/s")
    say("generator ceiling: constant-answer asyncio server ...")
    ceiling = saturate("raw", http_load)
    figures["generator_ceiling"] = ceiling.summary()
    say(f"  raw client ceiling {ceiling.ok_rate:.0f}/s")
    b_http_httpx = saturate("fastapi", Load(None, seconds, connections, client="httpx"))
    figures["B_http_with_httpx_client"] = b_http_httpx.summary()
    say(f"  B_http with the httpx client instead: {b_http_httpx.ok_rate:.0f}/s")

    say("signing: Ed25519 sign and verify per event ...")
    figures["signing"] = measure_signing()
    say(f"  sign {figures['signing']['sign_us']} µs, verify {figures['signing']['verify_us']} µs")

    topic = CASE_EVENTS.namespaced(f"{namespace}-raw")
    ensure_topics(bootstrap, [topic])
    records = encoded_reports(2000)
    say(f"B_produce: kafka-python, acks=all, idempotent, {topic.partitions} partitions ...")
    produced, produce_rate = produce_loop(bootstrap, topic, records, seconds)
    say(f"  B_produce {produce_rate:.0f}/s")
    say("B_consume: kafka-python, batches of 500, commit per batch ...")
    consume_rate = consume_loop(bootstrap, topic, produced, timeout_s=60 + seconds * 4)
    say(f"  B_consume {consume_rate:.0f}/s")
    figures["kafka"] = {
        "topic": topic.name,
        "partitions": topic.partitions,
        "records": produced,
        "record_value_bytes": len(records[0][1]),
        "B_produce_per_s": round(produce_rate, 1),
        "B_consume_per_s": round(consume_rate, 1),
    }

    async def mongo_and_round_trip() -> dict[str, Any]:
        database = connect(mongo_url, namespace.replace("-", "_") + "_raw")
        driver = os.environ.get(DRIVER_VARIABLE) or "motor"
        try:
            say(f"B_mongo: {driver} upserts, w=majority, bulk batches of {CONSUMER_BATCH} ...")
            batched = await mongo_upserts(database, seconds, CONSUMER_BATCH)
            say(f"  B_mongo {batched.per_s:.0f}/s")
            say(f"B_mongo_single: one upsert per round trip, {CONCURRENT_WRITERS} writers ...")
            single = await mongo_upserts(database, seconds, 1, CONCURRENT_WRITERS)
            say(f"  B_mongo_single {single.per_s:.0f}/s ({single.client_cpu_us:.0f} µs client CPU)")
            one_writer = await mongo_upserts(database, seconds, 1)
            say(f"  B_mongo_single with one writer {one_writer.per_s:.0f}/s")
            say(f"B_lat: produce -> consume -> upsert, {lat_count} round trips ...")
            histogram = await round_trips(bootstrap, topic, database, lat_count)
            return {
                "mongo": {
                    "batch": CONSUMER_BATCH,
                    "driver": driver,
                    "B_mongo_per_s": round(batched.per_s, 1),
                    "B_mongo_single_per_s": round(single.per_s, 1),
                    "B_mongo_single_writers": CONCURRENT_WRITERS,
                    "B_mongo_single_one_writer_per_s": round(one_writer.per_s, 1),
                    "client_cpu_us_per_upsert": {
                        "bulk": round(batched.client_cpu_us, 1),
                        "single": round(single.client_cpu_us, 1),
                        "one_writer": round(one_writer.client_cpu_us, 1),
                    },
                    "write_concern": "majority",
                },
                "B_lat": {
                    "count": histogram.get_total_count(),
                    **{
                        f"p{p}_ms": histogram.get_value_at_percentile(p) / 1000
                        for p in (50, 99, 99.9)
                    },
                    "max_ms": histogram.get_max_value() / 1000,
                },
            }
        finally:
            await database.client.drop_database(database.name)
            close(database)

    figures.update(asyncio.run(mongo_and_round_trip()))
    say(f"  B_lat p50 {figures['B_lat']['p50_ms']:.1f} ms, p99 {figures['B_lat']['p99_ms']:.1f} ms")
    return figures
