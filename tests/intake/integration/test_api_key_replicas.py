"""Open311 api keys across intake replicas on the real servers: a key one replica issues
works on the other, the first use after a revocation on one replica is refused on the
other, and a key forged the old way is refused by both."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from intake.integration.support import bearer
from intake.integration.test_open311 import FORM
from intake.unit.test_api_keys import forged_the_old_way

from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app
from gridcase_runtime.auth import Role

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def replicas(settings: IntakeSettings) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two intake replicas of one deployment: the same settings, database and topic."""
    async with AsyncExitStack() as stack:
        clients = []
        for replica in ("intake-a", "intake-b"):
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url=f"http://{replica}")
                )
            )
        yield clients


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other_at_once(
    replicas: list[httpx.AsyncClient], settings: IntakeSettings
) -> None:
    first, second = replicas
    admin = bearer(settings, "a-1", Role.ADMIN)
    issued = await first.post("/v1/admin/api-keys", json={"name": "replica-app"}, headers=admin)
    assert issued.status_code == 201, issued.text
    api_key, key_id = issued.json()["api_key"], issued.json()["key_id"]
    filed = await second.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    assert filed.status_code == 201, filed.text

    revoked = await first.delete(f"/v1/admin/api-keys/{key_id}", headers=admin)
    assert revoked.status_code == 204
    refused = await second.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    assert refused.status_code == 403
    assert refused.json() == [{"code": 403, "description": "api_key is not valid"}]
    listed = (await second.get("/v1/admin/api-keys", headers=admin)).json()
    assert [k["revoked_at"] is not None for k in listed if k["key_id"] == key_id] == [True]


async def test_a_key_forged_from_the_source_is_refused_by_every_replica(
    replicas: list[httpx.AsyncClient],
) -> None:
    forged = forged_the_old_way("replica-app")
    for replica in replicas:
        refused = await replica.post("/open311/v2/requests.json", data={**FORM, "api_key": forged})
        assert refused.status_code == 403
        assert refused.json() == [{"code": 403, "description": "api_key is not valid"}]
