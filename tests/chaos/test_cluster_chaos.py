"""Chaos on a cluster of three KRaft brokers (each also a controller) under load: topics
with three replicas and `min.insync.replicas` 2, and the broker leading most of the
case-events partitions SIGKILLed, then restarted. The two left keep a majority of
controllers and an in-sync pair for every partition, so the services carry on; the
restarted broker catches up and rejoins every partition's in-sync replicas."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from chaos.conftest import Systems
from chaos.scenarios import run_scenario, settings_of, start
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from private_servers import PrivateCluster

from gridcase_runtime.kafka_security import KafkaSecurity

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateCluster]:
    cluster = PrivateCluster(tmp_path_factory.mktemp("cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.mark.chaos_ci
async def test_one_of_three_brokers_sigkilled_and_restarted(
    systems: Systems, cluster: PrivateCluster, mongo_url: str
) -> None:
    system = systems(cluster.bootstrap, mongo_url)
    system.environment["GRIDCASE_KAFKA_REPLICATION_FACTOR"] = "3"
    await start(system)
    topic = settings_of(system).case_events_topic.name
    killed: list[int] = []

    async def fault() -> None:
        leaders = Counter(
            p["leader_id"] for p in await asyncio.to_thread(partitions, cluster, topic)
        )
        killed.append(leaders.most_common(1)[0][0])
        node = cluster.NODES[killed[0] - 1]
        cluster.kill(node)
        await asyncio.sleep(10)
        await asyncio.to_thread(cluster.start, node)

    await run_scenario("one of three brokers SIGKILL, restart (RF 3, min ISR 2)", system, fault)
    described = await asyncio.to_thread(partitions, cluster, topic)
    assert {len(p["replica_nodes"]) for p in described} == {3}
    assert await asyncio.to_thread(min_insync_replicas, cluster, topic) == "2"
    # the broker killed led partitions, and is back among every partition's in-sync replicas
    assert all(killed[0] in p["isr_nodes"] for p in described), described


def partitions(cluster: PrivateCluster, topic: str) -> list[dict[str, Any]]:
    """Each partition of `topic`: its leader, replicas and in-sync replicas (node ids)."""
    with _admin(cluster) as admin:
        return list(admin.describe_topics([topic])[0]["partitions"])


def min_insync_replicas(cluster: PrivateCluster, topic: str) -> str:
    with _admin(cluster) as admin:
        wanted = ConfigResource(ConfigResourceType.TOPIC, topic, {"min.insync.replicas": None})
        answer = admin.describe_configs([wanted], config_filter="all")
    return str(answer["topic"][topic]["min.insync.replicas"]["value"])


def _admin(cluster: PrivateCluster) -> contextlib.closing[KafkaAdminClient]:
    client = KafkaAdminClient(
        **KafkaSecurity().client_config(), bootstrap_servers=cluster.bootstrap
    )
    return contextlib.closing(client)
