"""deploy/keycloak/gridcase-realm.json: the realm every deployment imports holds the roles,
claims and clients the services and the web app rely on, and no person; the demo users
(deploy/keycloak/demo/gridcase-users-0.json) are imported beside it locally, in compose
and in the dev overlay only."""

import json
from collections import Counter
from typing import Any

import pytest
import yaml
from deploy_support import ROOT

ROLES = {"volunteer", "handler", "supervisor", "admin"}
REGISTRY = ROOT / "services/assignment/src/gridcase_assignment/seed/registry.yaml"


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    """The realm with its demo users, as a demo deployment imports it."""
    document: dict[str, Any] = json.loads(
        (ROOT / "deploy/keycloak/gridcase-realm.json").read_text()
    )
    demo = json.loads((ROOT / "deploy/keycloak/demo/gridcase-users-0.json").read_text())
    assert demo["realm"] == document["realm"]
    return {**document, "users": document["users"] + demo["users"]}


def clients(realm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {client["clientId"]: client for client in realm["clients"]}


def people(realm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {user["id"]: user for user in realm["users"] if "serviceAccountClientId" not in user}


def test_the_realm_declares_the_four_roles(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "gridcase"
    assert {role["name"] for role in realm["roles"]["realm"]} == ROLES


def test_every_client_that_issues_tokens_maps_roles_department_team_and_audience(
    realm: dict[str, Any],
) -> None:
    for client_id in ("gridcase-web", "gridcase-cli", "gridcase-ops"):
        mappers = {m["name"]: m for m in clients(realm)[client_id]["protocolMappers"]}
        assert mappers["roles"]["config"]["claim.name"] == "roles", client_id
        assert mappers["roles"]["config"]["access.token.claim"] == "true", client_id
        for attribute in ("department", "team"):
            config = mappers[attribute]["config"]
            assert (config["user.attribute"], config["claim.name"]) == (attribute, attribute)
            assert config["access.token.claim"] == "true", client_id
        audience = mappers["gridcase audience"]["config"]
        assert audience["included.custom.audience"] == "gridcase", client_id


def test_the_realm_file_holds_service_accounts_and_no_person() -> None:
    document = json.loads((ROOT / "deploy/keycloak/gridcase-realm.json").read_text())
    accounts = {user.get("serviceAccountClientId") for user in document["users"]}
    assert accounts == {"gridcase-ops", "gridcase-provisioner"}


def test_the_browser_client_is_public_with_pkce_and_configured_redirects(
    realm: dict[str, Any],
) -> None:
    web = clients(realm)["gridcase-web"]
    assert web["publicClient"] is True
    assert web["standardFlowEnabled"] is True
    assert web["implicitFlowEnabled"] is False
    assert web["directAccessGrantsEnabled"] is False
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert set(web["redirectUris"]) == {
        "${GRIDCASE_WEB_URL:http://127.0.0.1:8081}/*",
        "${GRIDCASE_WEB_URL_ALIAS:http://localhost:8081}/*",
    }


def test_confidential_clients_read_their_secrets_from_the_environment(
    realm: dict[str, Any],
) -> None:
    for client in realm["clients"]:
        if not client["publicClient"]:
            assert client["secret"].startswith("${GRIDCASE_"), client["clientId"]


def test_department_and_team_are_edited_by_administrators_only(realm: dict[str, Any]) -> None:
    (profile,) = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    (config,) = profile["config"]["kc.user.profile.config"]
    attributes = {a["name"]: a for a in json.loads(config)["attributes"]}
    for name in ("department", "team", "username"):
        assert attributes[name]["permissions"]["edit"] == ["admin"], name


def test_demo_users_cover_every_role_and_every_on_duty_handler(realm: dict[str, Any]) -> None:
    users = people(realm)
    roles = Counter(role for user in users.values() for role in user["realmRoles"])
    assert set(roles) == ROLES
    departments = yaml.safe_load(REGISTRY.read_text())["departments"]
    for department in departments:
        for handler in department["handlers"]:
            user = users[handler]
            assert user["realmRoles"] == ["handler"], handler
            assert user["attributes"]["department"] == [department["code"]], handler
    handler_departments = {
        user["attributes"]["department"][0]
        for user in users.values()
        if user["realmRoles"] == ["handler"]
    }
    assert len(handler_departments) >= 3
    for user in users.values():
        if user["realmRoles"] == ["volunteer"]:
            assert user["attributes"]["team"], user["id"]


def test_demo_passwords_are_stored_hashed_with_the_realm_s_policy(realm: dict[str, Any]) -> None:
    assert "hashAlgorithm(pbkdf2-sha512)" in realm["passwordPolicy"]
    for user in people(realm).values():
        (credential,) = user["credentials"]
        assert "value" not in credential, user["id"]
        data = json.loads(credential["credentialData"])
        assert (data["algorithm"], data["hashIterations"]) == ("pbkdf2-sha512", 210000)
