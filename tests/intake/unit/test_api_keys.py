"""Open311 api keys: issued, listed and revoked by administrators, stored only as salted
hashes, refused when forged the old way or revoked."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import httpx
import pytest

from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.api_keys import genuine, issue, key_id_of
from gridcase_runtime.auth import Role
from identity import mint_token

OLD_DEVELOPMENT_SECRET = "gridcase-local-development-secret-not-for-production"
FORM = {
    "service_code": "sanitation",
    "lat": "26.9",
    "long": "112.6",
    "description": "Bins overflowing by the market",
}


@pytest.fixture
def settings() -> IntakeSettings:
    return IntakeSettings(environment="test", public_base_url="http://intake.test")


def as_role(settings: IntakeSettings, role: Role) -> dict[str, str]:
    department = "housing-bureau" if role == Role.HANDLER else None
    token = mint_token(settings, subject=f"{role.value}-1", role=role, department=department)
    return {"Authorization": f"Bearer {token}"}


def forged_the_old_way(name: str) -> str:
    """What the review did: an HMAC over the key body with the secret in the source."""
    body = f"gck_{name}_0123456789ab"
    digest = hmac.new(
        OLD_DEVELOPMENT_SECRET.encode(), f"open311:{body}".encode(), hashlib.sha256
    ).digest()
    return f"{body}.{base64.urlsafe_b64encode(digest[:18]).decode().rstrip('=')}"


def test_only_a_salted_hash_of_the_secret_is_stored() -> None:
    now = datetime.now(UTC)
    api_key, record = issue("city-app", by="a-1", now=now)
    _, key_id, secret = api_key.split("_", 2)
    assert (record.key_id, record.name, record.created_by) == (key_id, "city-app", "a-1")
    assert secret not in repr(record)
    assert record.digest == hashlib.sha256(bytes.fromhex(record.salt) + secret.encode()).hexdigest()
    assert genuine(record, api_key)
    _, again = issue("city-app", by="a-1", now=now)
    assert again.salt != record.salt
    assert not genuine(record, f"gck_{key_id}_{'A' * 43}")
    assert key_id_of(forged_the_old_way("city-app")) is None


async def test_an_admin_issues_lists_and_revokes_keys(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    admin = as_role(settings, Role.ADMIN)
    issued = await client.post("/v1/admin/api-keys", json={"name": "city-app"}, headers=admin)
    assert issued.status_code == 201
    api_key, key_id = issued.json()["api_key"], issued.json()["key_id"]
    assert api_key.startswith(f"gck_{key_id}_")
    filed = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    assert filed.status_code == 201, filed.text

    listed = (await client.get("/v1/admin/api-keys", headers=admin)).json()
    assert [(k["key_id"], k["name"], k["revoked_at"]) for k in listed] == [
        (key_id, "city-app", None)
    ]
    assert all("api_key" not in k for k in listed)

    revoked = await client.delete(f"/v1/admin/api-keys/{key_id}", headers=admin)
    assert revoked.status_code == 204
    refused = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    assert refused.status_code == 403
    assert refused.json() == [{"code": 403, "description": "api_key is not valid"}]
    unknown = await client.delete("/v1/admin/api-keys/00000000000000ff", headers=admin)
    assert unknown.status_code == 404


async def test_a_key_forged_from_the_source_is_refused(client: httpx.AsyncClient) -> None:
    forged = forged_the_old_way("city-app")
    refused = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": forged})
    assert refused.status_code == 403


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.HANDLER, Role.SUPERVISOR])
async def test_only_admins_manage_keys(
    client: httpx.AsyncClient, settings: IntakeSettings, role: Role
) -> None:
    headers = as_role(settings, role)
    issued = await client.post("/v1/admin/api-keys", json={"name": "x"}, headers=headers)
    assert issued.status_code == 403
    assert (await client.get("/v1/admin/api-keys", headers=headers)).status_code == 403
    assert (await client.post("/v1/admin/api-keys", json={"name": "x"})).status_code == 401


async def test_a_key_name_is_a_code(client: httpx.AsyncClient, settings: IntakeSettings) -> None:
    admin = as_role(settings, Role.ADMIN)
    bad = await client.post("/v1/admin/api-keys", json={"name": "City App"}, headers=admin)
    assert bad.status_code == 422
