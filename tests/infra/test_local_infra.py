"""The local infrastructure runner: idempotent start, clear errors on taken ports, each
service's own Mongo-wire credentials, which reach its own databases only, and a Kafka data
folder from before Kafka had users, which is formatted afresh with them."""

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from private_servers import free_port, fresh_state_dir
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from kafka_login import client_settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "deploy" / "local" / "infra.py"

pytestmark = pytest.mark.integration


def infra(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(INFRA), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_a_second_up_says_so_and_does_nothing(kafka_bootstrap: str, mongo_url: str) -> None:
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
        pytest.skip("the servers come from the environment, not from the local runner")
    before = infra("status").stdout
    second = infra("up", "kafka", "ferretdb")  # brings postgres along
    assert second.returncode == 0, second.stderr
    assert "already up; nothing to do" in second.stdout
    assert infra("status").stdout == before


def test_a_port_taken_by_another_process_is_named(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = infra(
            "up",
            "prometheus",
            env={"GRIDCASE_INFRA_STATE": str(tmp_path), "PROMETHEUS_PORT": str(port)},
        )
    assert result.returncode == 2
    assert f"port {port} is already in use by another process" in result.stderr
    assert not (tmp_path / "run" / "prometheus.pid").exists()


def local_client(service: str | None = None, *, password: str | None = None) -> MongoClient:
    """A client of the local Mongo-wire server as a service's role (the administrator
    without one), with another password if one is given."""
    url = infra("mongo-url", *filter(None, [service])).stdout.strip()
    if password is not None:
        user = url.split("//", 1)[1].split(":", 1)[0]
        url = url.replace(url.split("@", 1)[0], f"mongodb://{user}:{password}")
    return MongoClient(url, serverSelectionTimeoutMS=5000)


@pytest.fixture
def role_databases(mongo_url: str, namespace: str) -> Iterator[dict[str, str]]:
    """A database of intake's and one of assignment's, dropped afterwards."""
    if "MONGODB_URL" in os.environ:
        pytest.skip("the servers come from the environment, not from the local runner")
    prefix = namespace.replace("-", "_")
    names = {service: f"{prefix}_{service}" for service in ("intake", "assignment")}
    yield names
    with MongoClient(mongo_url) as administrator:
        for name in names.values():
            administrator.drop_database(name)


def test_a_service_role_reads_and_writes_its_own_database_only(
    role_databases: dict[str, str],
) -> None:
    with local_client("intake") as intake, local_client("assignment") as assignment:
        own = intake[role_databases["intake"]].reports
        own.insert_one({"_id": "r-1", "state": "new"})
        own.update_one({"_id": "r-1"}, {"$set": {"state": "verified"}})
        assert own.find_one({"_id": "r-1"}) == {"_id": "r-1", "state": "verified"}

        foreign = role_databases["assignment"]
        assignment[foreign].cases.insert_one({"_id": "c-1", "handler": "h-1"})
        attempts = {
            "find": lambda: intake[foreign].cases.find_one({"_id": "c-1"}),
            "insert": lambda: intake[foreign].cases.insert_one({"_id": "c-2"}),
            "update": lambda: intake[foreign].cases.update_one(
                {"_id": "c-1"}, {"$set": {"handler": "h-2"}}
            ),
            "delete": lambda: intake[foreign].cases.delete_one({"_id": "c-1"}),
            "drop": lambda: intake.drop_database(foreign),
        }
        refusals = {}
        for name, attempt in attempts.items():
            try:
                attempt()
            except OperationFailure as refusal:
                refusals[name] = str(refusal)
        assert set(refusals) == set(attempts), "intake reached assignment's database"
        assert all(
            "permission denied for schema" in reason or "must be owner of schema" in reason
            for reason in refusals.values()
        ), refusals
        assert assignment[foreign].cases.find_one({"_id": "c-1"}) == {
            "_id": "c-1",
            "handler": "h-1",
        }


@pytest.mark.usefixtures("role_databases")
def test_a_wrong_password_no_credentials_and_statistics_are_refused() -> None:
    refused = {
        "wrong password": local_client("intake", password="not-the-password"),
        "no credentials": MongoClient(
            f"mongodb://127.0.0.1:{os.environ.get('MONGO_PORT', '27017')}",
            serverSelectionTimeoutMS=5000,
        ),
    }
    for client in refused.values():
        with client, pytest.raises(OperationFailure, match="password authentication failed"):
            client.gridcase_intake.list_collection_names()
    statistics = infra("mongo-url", "statistics")
    assert statistics.returncode == 2
    assert "invalid choice: 'statistics'" in statistics.stderr


def test_a_kafka_folder_formatted_before_kafka_had_users_is_formatted_afresh() -> None:
    state = fresh_state_dir()
    ports = {"KAFKA_PORT": free_port(), "KAFKA_CONTROLLER_PORT": free_port()}
    environment = {"GRIDCASE_INFRA_STATE": str(state), **{k: str(v) for k, v in ports.items()}}
    old = state / "data" / "kafka"
    old.mkdir(parents=True)
    (old / "meta.properties").write_text("version=1\ncluster.id=plaintext-era\nnode.id=1\n")
    try:
        started = infra("up", "kafka", env=environment)
        assert started.returncode == 0, started.stdout + started.stderr
        assert "formatting it afresh" in started.stdout
        assert "cluster.id=plaintext-era" not in (old / "meta.properties").read_text()
        admin = KafkaAdminClient(**client_settings(f"127.0.0.1:{ports['KAFKA_PORT']}"))
        try:
            admin.list_topics()
        finally:
            admin.close()
    finally:
        infra("down", "kafka", env=environment)
        shutil.rmtree(state, ignore_errors=True)
