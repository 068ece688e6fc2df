"""The whole system for end-to-end tests: Kafka, the Mongo-wire server, Prometheus and
Keycloak from the local runner, and the four services started here as real processes on
their usual ports, with their own topics and databases and shortened SLAs, each logged in
to Kafka as its own user with the ACLs the runner grants it on the session's namespace. Every token
comes from Keycloak: the realm's demo users, and realm users created for other principals."""

import json
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

from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_access import revoke
from gridcase_runtime.settings import ServiceSettings
from identity import Keycloak

ROOT = Path(__file__).resolve().parents[2]
INFRA = [sys.executable, str(ROOT / "deploy" / "local" / "infra.py")]
SERVICES = ["intake", "assignment", "remediation-tracking", "statistics"]
KEYCLOAK_URL = f"http://127.0.0.1:{os.environ.get('KEYCLOAK_PORT', '8080')}"
DEMO_REALM_USERS = ROOT / "deploy" / "keycloak" / "demo" / "gridcase-users-0.json"
DEMO_USERS = {user["username"] for user in json.loads(DEMO_REALM_USERS.read_text())["users"]}


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
        **{name: value for name, value in os.environ.items() if name != "GRIDCASE_JWKS_URL"},
        **e2e_environment(namespace),
        "KAFKA_BOOTSTRAP_SERVERS": infrastructure["kafka"],
        "MONGODB_URL": infrastructure["mongo"],
        "GRIDCASE_JWT_ISSUER": f"{KEYCLOAK_URL}/realms/gridcase",
    }
    subprocess.run([*INFRA, "up", "prometheus", "keycloak", *SERVICES], env=environment, check=True)
    try:
        yield namespace
    finally:
        subprocess.run([*INFRA, "down", *SERVICES], check=False)
        revoke(infrastructure["kafka"], namespace)  # the runner granted the services its topics


@pytest.fixture(scope="session")
def settings() -> ServiceSettings:
    return ServiceSettings(GRIDCASE_JWT_ISSUER=f"{KEYCLOAK_URL}/realms/gridcase")


KEYCLOAK = Keycloak(
    KEYCLOAK_URL,
    os.environ.get("GRIDCASE_PROVISIONER_CLIENT_SECRET", "gridcase-provisioner-local-secret"),
)


def token(settings: ServiceSettings, role: Role, subject: str, **claims: str) -> dict[str, str]:
    """Authorization headers from Keycloak: a demo user signs in as themself; any other
    subject becomes a realm user with this role and these attributes first."""
    if subject in DEMO_USERS:
        return KEYCLOAK.demo(subject, role)
    return KEYCLOAK.person(subject, role, **claims)


@pytest.fixture(scope="session")
def supervisor(system: str) -> dict[str, str]:
    return KEYCLOAK.demo("s-demo-1", Role.SUPERVISOR)


@pytest.fixture(scope="session")
def admin(system: str) -> dict[str, str]:
    return KEYCLOAK.demo("a-demo-1", Role.ADMIN)


@pytest.fixture(scope="session")
def api_key(admin: dict[str, str]) -> str:
    """An Open311 api key issued through intake's admin API."""
    issued = httpx.post(
        f"{URLS['intake']}/v1/admin/api-keys", json={"name": "e2e-city-app"}, headers=admin
    )
    assert issued.status_code == 201, issued.text
    key: str = issued.json()["api_key"]
    return key


@pytest.fixture
async def http(system: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client
