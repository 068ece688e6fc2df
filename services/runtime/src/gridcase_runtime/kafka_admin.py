"""Kafka topics: created with their declared partitions and retention, unless they exist."""

import asyncio
import contextlib
import time
from collections.abc import Sequence

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from gridcase_contracts.topics import TopicSpec
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.settings import ServiceSettings


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
