"""Fixtures for tests that need the real Kafka broker and Mongo-wire server.

Where they come from, in order:
1. KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL from the environment;
2. MongoDB with the real mongo image (testcontainers) when a Docker engine answers;
3. the local infrastructure (deploy/local/infra.py: Kafka from jars, with its users and
   ACLs; FerretDB), started here.

Every test module gets its own topic namespace and database, so tests never see each
other's events or documents. Kafka clients log in as the local broker's administrator
(kafka_login).
"""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from private_servers import PrivateBroker

from identity import trust_test_issuer
from kafka_login import use_administrator
from producers import create_keys

ROOT = Path(__file__).resolve().parents[1]

# Every settings object a test builds trusts the tests' own issuer; the end-to-end tests
# start their services with Keycloak's instead.
trust_test_issuer()
# Kafka clients log in as the administrator; services started by the local runner as their
# own users (see kafka_login).
use_administrator()


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresh event-signing keys for every producing service, in the environment that the
    services under test (in-process or started by infra.py) read."""
    directory = tmp_path_factory.mktemp("signing")
    create_keys(directory)
    return directory


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[dict[str, str]]:
    """Kafka bootstrap servers and a MongoDB URL of real, running servers."""
    found = {
        "kafka": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        "mongo": os.environ.get("MONGODB_URL", ""),
    }
    with ExitStack() as stack:
        if not found["mongo"] and _docker_answers():
            from testcontainers.community.mongodb import MongoDbContainer

            mongo = stack.enter_context(MongoDbContainer("mongo:8"))
            found["mongo"] = mongo.get_connection_url()
        if not (found["kafka"] and found["mongo"]):
            needed = [
                name
                for name, value in (("kafka", found["kafka"]), ("ferretdb", found["mongo"]))
                if not value
            ]
            subprocess.run(
                [sys.executable, str(ROOT / "deploy/local/infra.py"), "up", *needed], check=True
            )
            found["kafka"] = found["kafka"] or f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}"
            found["mongo"] = found["mongo"] or local_mongo_url()
        yield found


def local_mongo_url(service: str | None = None) -> str:
    """The local Mongo-wire server's URL with the administrator's credentials (tests create
    and drop databases), or with a service's own."""
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "deploy/local/infra.py"),
            "mongo-url",
            *filter(None, [service]),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture(scope="session")
def kafka_bootstrap(infrastructure: dict[str, str]) -> str:
    return infrastructure["kafka"]


@pytest.fixture(scope="session")
def mongo_url(infrastructure: dict[str, str]) -> str:
    return infrastructure["mongo"]


@pytest.fixture(scope="module")
def namespace(request: pytest.FixtureRequest) -> str:
    """A unique topic namespace and database name for one test module."""
    stem = Path(str(request.node.path)).stem.replace("_", "-")[:20]
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def service_env(kafka_bootstrap: str, mongo_url: str, namespace: str) -> dict[str, str]:
    """Environment for a service under test: real servers, isolated topics and database."""
    return {
        "GRIDCASE_ENV": "test",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "MONGODB_URL": mongo_url,
        "GRIDCASE_TOPIC_NAMESPACE": namespace,
    }


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    """A broker of the test module's own, to stall, kill and restart."""
    broker = PrivateBroker(tmp_path_factory.mktemp("broker"))
    broker.start()
    yield broker
    broker.stop()
