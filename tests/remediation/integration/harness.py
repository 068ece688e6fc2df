"""Runs the remediation service in-process against the real broker and Mongo-wire server."""

import asyncio
import hashlib
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from PIL import Image

from gridcase_contracts.codec import decode
from gridcase_contracts.envelope import Envelope
from gridcase_remediation.bootstrap import WORKERS, Components
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.entrypoints.api import create_app
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from identity import mint_token
from kafka_login import client_settings
from producers import AsProducers


def settings_for(
    service_env: dict[str, str], namespace: str, *, suffix: str = ""
) -> RemediationSettings:
    """Settings of one service instance; `suffix` gives it its own database and group."""
    return RemediationSettings(
        **service_env,  # type: ignore[arg-type]
        mongodb_database=f"{namespace.replace('-', '_')}{suffix}",
        consumer_group=f"gridcase-remediation-{namespace}{suffix}",
        sla_scan_interval_s=0.2,
        outbox_poll_interval_s=0.2,
    )


@asynccontextmanager
async def running_service(
    settings: RemediationSettings, *, workers: tuple[str, ...] = WORKERS
) -> AsyncIterator[tuple[httpx.AsyncClient, Components]]:
    """The app with its lifespan (topics, indexes, workers) and an HTTP client to it."""
    app = create_app(settings, workers=workers)
    parts: Components = app.state.components
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://remediation"
        ) as client,
    ):
        if "consumer" in workers:
            await asyncio.wait_for(parts.consumer.started.wait(), timeout=30)
        yield client, parts


def bearer(
    settings: RemediationSettings, subject: str, role: Role, department: str | None = None
) -> dict[str, str]:
    token = mint_token(settings, subject=subject, role=role, department=department)
    return {"Authorization": f"Bearer {token}"}


async def publish(settings: RemediationSettings, events: Sequence[Envelope]) -> None:
    """Sends events as the other services would (creating the topics if need be)."""
    await asyncio.to_thread(
        ensure_topics,
        settings.kafka_bootstrap_servers,
        [settings.case_events_topic, settings.dlq_topic],
    )
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service="test",
        signer=AsProducers(),
    )
    try:
        await publisher.publish_many(events)
    finally:
        publisher.close()


def _read_topic(bootstrap: str, topic: str) -> list[Envelope]:
    reader = KafkaConsumer(
        topic,
        **client_settings(bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1500,
    )
    events = [decode(record.value) for record in reader]
    reader.close()
    return events


async def topic_events(settings: RemediationSettings) -> list[Envelope]:
    return await asyncio.to_thread(
        _read_topic, settings.kafka_bootstrap_servers, settings.case_events_topic.name
    )


def _lag(settings: RemediationSettings) -> int:
    admin = KafkaAdminClient(**client_settings(settings.kafka_bootstrap_servers))
    reader = KafkaConsumer(**client_settings(settings.kafka_bootstrap_servers))
    try:
        group = settings.group_id
        committed = admin.list_group_offsets(group)[group]
        topic = settings.case_events_topic.name
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic)]
        ends = reader.end_offsets(partitions)
        done = {tp: committed[tp].offset if tp in committed else 0 for tp in ends}
        return sum(end - done[tp] for tp, end in ends.items())
    finally:
        admin.close()
        reader.close()


async def consumed_everything(settings: RemediationSettings) -> bool:
    """The service's consumer group has committed every record of the topic."""
    return await asyncio.to_thread(_lag, settings) == 0


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 30) -> None:
    """Polls `check` until it holds; fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(0.1)


async def case_version(parts: Components, case_id: str) -> int:
    record = await parts.repository.get(case_id)
    return record.version if record else 0


async def history_hash(parts: Components) -> str:
    """A hash of every case's projection, version and ledger (the audit-relevant state)."""
    digest = hashlib.sha256()
    async for document in parts.repository.cases.find({}, {"outbox": 0}).sort("_id", 1):
        canonical: dict[str, Any] = {
            "case_id": document["_id"],
            "version": document["version"],
            "state": document["state"],
            "ledger": document["ledger"],
            "event_ids": document["event_ids"],
        }
        digest.update(json.dumps(canonical, sort_keys=True).encode())
    return digest.hexdigest()


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()
