"""One remediation-tracking service per test module, on its own database and group."""

from collections.abc import AsyncIterator

import httpx
import pytest
from remediation.integration.harness import running_service, settings_for

from gridcase_remediation.bootstrap import Components
from gridcase_remediation.config import RemediationSettings


@pytest.fixture(scope="module")
def settings(service_env: dict[str, str], namespace: str) -> RemediationSettings:
    return settings_for(service_env, namespace)


@pytest.fixture(scope="module")
async def service(
    settings: RemediationSettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, Components]]:
    async with running_service(settings) as running:
        yield running
        await running[1].database.client.drop_database(settings.mongodb_database)
