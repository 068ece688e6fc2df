"""The whole system for end-to-end tests: Kafka, the Mongo-wire server and Prometheus from
the local runner, and the four services started here as real processes on their usual
ports, with their own topics and databases and shortened SLAs."""

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from e2e.journey import URLS

from gridcase_runtime.auth import Role, create_api_key, mint_token
from gridcase_runtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
INFRA = [sys.executable, str(ROOT / "deploy" / "local" / "infra.py")]
SERVICES = ["intake", "assignment", "remediation-tracking", "statistics"]


def e2e_environment(namespace: str) -> dict[str, str]:
    """Isolated topics and databases; SLAs scaled so that a critical case's accept stage
    (1 calendar hour) falls due after about 7 seconds, and a ladder that climbs in seconds."""
    database = namespace.replace("-", "_")
    return {
        "GRIDCASE_ENV": "test",
        "GRIDCASE_TOPIC_NAMESPACE": namespace,
        "INTAKE_MONGODB_DATABASE": f"{database}_intake",
        "ASSIGNMENT_MONGODB_DATABASE": f"{database}_assignment",
        "REMEDIATION_MONGODB_DATABASE": f"{database}_remediation",
        "ASSIGNMENT_SLA_SCALE": "0.002",
        "ASSIGNMENT_SLA_WORKING_CALENDAR": "false",
        "ASSIGNMENT_LADDER_LEVEL2_DELAY_S": "2",
        "ASSIGNMENT_LADDER_LEVEL3_DELAY_S": "4",
        "ASSIGNMENT_LADDER_SCAN_INTERVAL_S": "0.5",
        "REMEDIATION_SLA_SCAN_INTERVAL_S": "1",
        "STATISTICS_SESSION_TIMEOUT_S": "6",
        "INTAKE_REPORTS_PER_MINUTE": "600",
    }


def _answers(url: str) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", int(url.rsplit(":", 1)[1]))) == 0


@pytest.fixture(scope="session")
def system(infrastructure: dict[str, str]) -> Iterator[str]:
    """Starts the four services (and Prometheus) for this session; stops them afterwards."""
    busy = [url for name, url in URLS.items() if name != "prometheus" and _answers(url)]
    if busy:
        pytest.fail(f"{', '.join(busy)} already in use (is `make up` running?); stop it first")
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        **e2e_environment(namespace),
        "KAFKA_BOOTSTRAP_SERVERS": infrastructure["kafka"],
        "MONGODB_URL": infrastructure["mongo"],
    }
    subprocess.run([*INFRA, "up", "prometheus", *SERVICES], env=environment, check=True)
    try:
        yield namespace
    finally:
        subprocess.run([*INFRA, "down", *SERVICES], check=False)


@pytest.fixture(scope="session")
def settings() -> ServiceSettings:
    return ServiceSettings()


def token(settings: ServiceSettings, role: Role, subject: str, **claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject=subject, role=role, **claims)}"}


@pytest.fixture(scope="session")
def supervisor(settings: ServiceSettings) -> dict[str, str]:
    return token(settings, Role.SUPERVISOR, "s-e2e-1")


@pytest.fixture(scope="session")
def api_key(settings: ServiceSettings) -> str:
    return create_api_key(settings, "e2e-city-app")


@pytest.fixture
async def http(system: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client
