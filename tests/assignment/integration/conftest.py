"""The assignment service running in-process against the real broker and Mongo-wire server,
fed through a namespaced topic and read back from it."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.entrypoints.api import create_app
from gridcase_contracts.codec import decode
from gridcase_contracts.envelope import Envelope
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase, close, connect
from identity import mint_token
from kafka_login import client_settings
from producers import AsProducers


class TopicReader:
    """Reads every event of the case-events topic from the beginning."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(**client_settings(bootstrap), enable_auto_commit=False)
        partitions = [TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic)]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning(*partitions)
        self.events: list[Envelope] = []

    def _poll(self) -> None:
        for records in self.consumer.poll(timeout_ms=200).values():
            self.events += [decode(record.value) for record in records]

    async def wait_for(
        self, matches: Callable[[Envelope], bool], *, count: int = 1, timeout_s: float = 60
    ) -> list[Envelope]:
        """The first `count` events that match, once they have all arrived."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [event for event in self.events if matches(event)]
            if len(found) >= count:
                return found[:count]
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(found)} of {count} events arrived: {found}")
            await asyncio.to_thread(self._poll)

    async def of_case(self, case_id: str, event_type: str) -> list[Envelope]:
        """Every `event_type` event of the case read so far (after a final poll)."""
        await asyncio.to_thread(self._poll)
        return [e for e in self.events if e.case_id == case_id and e.event_type == event_type]

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str, mongo_url: str, namespace: str) -> AssignmentSettings:
    return AssignmentSettings(
        environment="test",
        kafka_bootstrap_servers=kafka_bootstrap,
        mongodb_url=mongo_url,
        topic_namespace=namespace,
        mongodb_database=namespace.replace("-", "_"),
        consumer_group=f"{namespace}-assignment",
        ladder_level2_delay_s=1.0,
        ladder_level3_delay_s=2.0,
        ladder_scan_interval_s=0.2,
    )


@asynccontextmanager
async def running_service(settings: AssignmentSettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.components.consumer.started.wait(), timeout=30)
        yield app


@pytest.fixture(scope="module")
async def service(settings: AssignmentSettings) -> AsyncIterator[FastAPI]:
    async with running_service(settings) as app:
        yield app


@pytest.fixture(scope="module")
async def database(settings: AssignmentSettings) -> AsyncIterator[MongoDatabase]:
    db = connect(settings.mongodb_url, settings.mongodb_database)
    yield db
    await db.client.drop_database(db.name)
    close(db)


@pytest.fixture(scope="module")
async def http(service: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(transport=transport, base_url="http://assignment") as client:
        yield client


@pytest.fixture(scope="module")
async def publisher(settings: AssignmentSettings) -> AsyncIterator[EventPublisher]:
    await asyncio.to_thread(
        ensure_topics, settings.kafka_bootstrap_servers, [settings.case_events_topic]
    )
    sender = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service="test",
        signer=AsProducers(),
    )
    yield sender
    sender.close()


@pytest.fixture(scope="module")
async def reader(
    settings: AssignmentSettings, publisher: EventPublisher
) -> AsyncIterator[TopicReader]:
    topic_reader = await asyncio.to_thread(
        TopicReader, settings.kafka_bootstrap_servers, settings.case_events_topic.name
    )
    yield topic_reader
    topic_reader.close()


def bearer(
    settings: AssignmentSettings, role: Role, subject: str, department: str | None = None
) -> dict[str, str]:
    token = mint_token(settings, subject=subject, role=role, department=department)
    return {"Authorization": f"Bearer {token}"}


def _lag(settings: AssignmentSettings) -> int:
    admin = KafkaAdminClient(**client_settings(settings.kafka_bootstrap_servers))
    consumer = KafkaConsumer(**client_settings(settings.kafka_bootstrap_servers))
    try:
        committed = admin.list_group_offsets(settings.group_id)[settings.group_id]
        topic = settings.case_events_topic.name
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        ends = consumer.end_offsets(partitions)
        return sum(
            end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items()
        )
    finally:
        admin.close()
        consumer.close()


async def caught_up(
    settings: AssignmentSettings, database: MongoDatabase, timeout_s: float = 60
) -> None:
    """Returns once the service has consumed everything published and relayed its outbox.
    Generous: on a fresh broker a group may wait out a departed member's session first."""
    deadline = time.monotonic() + timeout_s
    cases = database["cases"]
    while True:
        pending = await cases.count_documents({"outbox_pending": True})
        lag = await asyncio.to_thread(_lag, settings)
        pending += await cases.count_documents({"outbox_pending": True})
        if lag == 0 and pending == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not caught up: lag {lag}, {pending} outboxes pending")
        await asyncio.sleep(0.2)
