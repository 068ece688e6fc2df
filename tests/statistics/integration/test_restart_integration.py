"""The service as a real process: SIGKILLed mid-stream and restarted, it recovers its table
from the changelog and still counts every event exactly once; the independent replay
(gridcase-stats-reconcile) agrees with it."""

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from gridcase_contracts.codes import Stage
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.consumer import CASES_TABLE
from gridcase_stats.entrypoints.reconcile import reconcile
from identity import mint_token
from producers import AsProducers

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Worker:
    """`python -m gridcase_stats` on a free port, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, **env, "STATISTICS_PORT": str(self.port)}
        self._log = log

    def __enter__(self) -> "Worker":
        with self._log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gridcase_stats"],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def wait_ready(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self._log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready in time:\n{self._log.read_text()[-3000:]}")

    def redeliveries(self) -> float:
        metrics = httpx.get(f"{self.url}/metrics", timeout=10).text
        return next(
            float(line.split()[1])
            for line in metrics.splitlines()
            if line.startswith("gridcase_statistics_redeliveries_total ")
        )

    def summary(self, token: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/v1/stats/summary", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def env(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        **service_env,
        "STATISTICS_DATA_DIR": str(tmp_path_factory.mktemp("faust")),
        # long enough that a busy host's stalled heartbeat does not expel the restarted
        # worker, whose own rebalance would redeliver more than the crash left
        "STATISTICS_SESSION_TIMEOUT_S": "20",
        "GRIDCASE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def settings(env: dict[str, str]) -> StatsSettings:
    return StatsSettings(**env)


@pytest.fixture(scope="module")
def publisher(settings: StatsSettings) -> Iterator[EventPublisher]:
    ensure_topics(settings.kafka_bootstrap_servers, [settings.case_events_topic])
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service="test",
        signer=AsProducers(),
    )
    yield publisher
    publisher.close()


async def test_killed_mid_stream_and_restarted_counts_exactly_once(
    env: dict[str, str],
    settings: StatsSettings,
    publisher: EventPublisher,
    tmp_path: Path,
    fixed: Any,
    story: Any,
    may_day: datetime,
) -> None:
    token = mint_token(settings, subject="s-1", role=Role.SUPERVISOR)
    first = [event for i in range(40) for event in fixed(f"GC-kill-a{i:03d}", may_day).events]
    second = [
        event
        for i in range(20)
        for event in story(f"GC-kill-b{i:03d}", may_day)
        .assigned(1)
        .overdue(26, Stage.ACCEPT)
        .escalated(26, 1)
        .events
    ]
    log = tmp_path / "worker.log"

    with Worker(env, log) as worker:
        worker.wait_ready()
        await publisher.publish_many(first)
        for _ in range(600):
            if worker.summary(token)["reported"] > 0:
                break
            await asyncio.sleep(0.05)
        worker.kill()  # SIGKILL: no commit, no flush, no goodbye

    await asyncio.to_thread(changelog_settled, settings)
    committed = await asyncio.to_thread(committed_offsets, settings)
    applied = await asyncio.to_thread(applied_in_changelog, settings)
    await publisher.publish_many(second[: len(second) // 2])
    with Worker(env, log) as worker:
        worker.wait_ready()
        await publisher.publish_many(second[len(second) // 2 :])
        await publisher.publish_many(first[:50])  # and a producer retry on top
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            figures = worker.summary(token)
            if figures["reported"] == 60 and figures["escalated"] == 20 and figures["closed"] == 40:
                break
            await asyncio.sleep(0.2)
        assert figures["reported"] == 60
        assert figures["found"] == 60
        assert figures["resolved"] == 40
        assert figures["closed"] == 40
        assert figures["overdue"] == 20
        assert figures["escalated"] == 20
        assert figures["open"] == 20
        expected = await asyncio.to_thread(redeliveries_due, settings, committed, applied)
        assert expected > 50  # the 50 sent again, and what the crash left uncommitted
        for _ in range(300):  # the figures are complete before the last retries are taken
            if (redelivered := worker.redeliveries()) >= expected:
                break
            await asyncio.sleep(0.2)
        print(f"after the SIGKILL: {redelivered:.0f} redeliveries, {expected} due")
        # each of those skipped, and under load a few more: records the restarted worker took
        # twice itself (one a partition in runs here; the figures above count each once)
        assert redelivered >= expected

        out = io.StringIO()
        assert reconcile(settings, url=worker.url, token=token, timeout_s=30, out=out) == 0, (
            out.getvalue()
        )
        assert "reconciled: 60 cases" in out.getvalue()

        # a topic holding other events: the replay of it must disagree, loudly
        other = StatsSettings(
            **{**env, "GRIDCASE_TOPIC_NAMESPACE": f"{settings.topic_namespace}-x"}
        )
        ensure_topics(other.kafka_bootstrap_servers, [other.case_events_topic])
        other_publisher = EventPublisher(
            other.kafka_bootstrap_servers,
            other.case_events_topic,
            service="test",
            signer=AsProducers(),
        )
        await other_publisher.publish_many(first[:7])
        other_publisher.close()
        out = io.StringIO()
        assert reconcile(other, url=worker.url, token=token, timeout_s=1, out=out) == 1
        assert "counts: only in live service:" in out.getvalue()


def committed_offsets(settings: StatsSettings) -> dict[int, int]:
    """The source partitions' offsets the worker's group had committed."""
    admin = KafkaAdminClient(
        **KafkaSecurity().client_config(), bootstrap_servers=settings.kafka_bootstrap_servers
    )
    try:
        offsets = admin.list_group_offsets([settings.group_id])[settings.group_id]
    finally:
        admin.close()
    topic = settings.case_events_topic.name
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def records(bootstrap: str, topic: str, start: dict[int, int] | None = None) -> list[Any]:
    """Every record of `topic` from `start` (by partition; else the beginning) to the end
    offsets it has when called."""
    reader = KafkaConsumer(
        **KafkaSecurity().client_config(), bootstrap_servers=bootstrap, enable_auto_commit=False
    )
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        reader.assign(partitions)
        for partition in partitions:
            reader.seek(partition, (start or {}).get(partition.partition, 0))
        ends = reader.end_offsets(partitions)
        read: list[Any] = []
        while any(reader.position(partition) < ends[partition] for partition in partitions):
            for batch in reader.poll(timeout_ms=1000).values():
                read.extend(batch)
        return read
    finally:
        reader.close()


def changelog_settled(settings: StatsSettings) -> None:
    """Returns once what the killed worker had sent to the table's changelog has landed:
    its end offsets unchanged for two seconds."""
    reader = KafkaConsumer(
        **KafkaSecurity().client_config(), bootstrap_servers=settings.kafka_bootstrap_servers
    )
    changelog = f"{settings.group_id}-{CASES_TABLE}-changelog"
    try:
        partitions = [
            TopicPartition(changelog, p) for p in reader.partitions_for_topic(changelog) or ()
        ]
        ends = None
        while (latest := reader.end_offsets(partitions)) != ends:
            ends = latest
            time.sleep(2)
    finally:
        reader.close()


def applied_in_changelog(settings: StatsSettings) -> set[str]:
    """The ids of the events in the table a restarted worker recovers: the latest state of
    each case in the table's changelog."""
    changelog = f"{settings.group_id}-{CASES_TABLE}-changelog"
    latest = {r.key: r.value for r in records(settings.kafka_bootstrap_servers, changelog)}
    return {
        event_id
        for value in latest.values()
        if value
        for event_id in json.loads(value)["event_ids"]
    }


def redeliveries_due(settings: StatsSettings, committed: dict[int, int], applied: set[str]) -> int:
    """How many records from the committed offsets on carry an event applied before them:
    one in the recovered table, or one met earlier from those offsets on."""
    seen = set(applied)
    due = 0
    for record in records(
        settings.kafka_bootstrap_servers, settings.case_events_topic.name, committed
    ):
        event_id = json.loads(record.value)["event_id"]
        due += event_id in seen
        seen.add(event_id)
    return due
