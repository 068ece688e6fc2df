"""k8s/: Keycloak, the identity provider, checked on the objects the validator rendered;
and the validator's identity checks shown to refuse broken variants of the dev overlay."""

import json
import os
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
from deploy_support import ROOT, SERVICES, run
from test_k8s import Objects, container, of_kind

REALM = ROOT / "deploy/keycloak/gridcase-realm.json"
DEMO_USERS = ROOT / "deploy/keycloak/demo/gridcase-users-0.json"
REPLICAS = {"dev": (1, 1), "prod": (2, 3)}
"""Keycloak's replicas and its PostgreSQL cluster's instances per overlay."""


def keycloak_version() -> str:
    """The Keycloak release the local runner takes from Maven Central."""
    pom = ElementTree.parse(ROOT / "deploy/keycloak/pom.xml")
    versions = [e.text for e in pom.iter() if e.tag.endswith("version") and e.text != "1"]
    (version,) = set(versions)
    assert version is not None
    return version


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container(deployment)["env"]}


def test_keycloak_is_the_same_pinned_release_everywhere(
    rendered: dict[str, Objects], compose: dict[str, Any]
) -> None:
    image = f"quay.io/keycloak/keycloak:{keycloak_version()}"
    assert compose["services"]["keycloak"]["image"] == image
    for objects in rendered.values():
        keycloak = of_kind(objects, "Deployment")["keycloak"]
        assert container(keycloak)["image"] == image
        assert container(keycloak)["args"] == ["start", "--import-realm"]


def test_dev_imports_the_demo_users_and_prod_no_person(rendered: dict[str, Objects]) -> None:
    expected = {
        "dev": {"gridcase-realm.json": REALM, "gridcase-users-0.json": DEMO_USERS},
        "prod": {"gridcase-realm.json": REALM},
    }
    for overlay, objects in rendered.items():
        keycloak = of_kind(objects, "Deployment")["keycloak"]
        volumes = {v["name"]: v for v in keycloak["spec"]["template"]["spec"]["volumes"]}
        (mount,) = container(keycloak)["volumeMounts"]
        assert (mount["mountPath"], mount["readOnly"]) == ("/opt/keycloak/data/import", True)
        realm = of_kind(objects, "ConfigMap")[volumes[mount["name"]]["configMap"]["name"]]
        files = realm["data"]
        assert set(files) == set(expected[overlay]), overlay
        for name, source in expected[overlay].items():
            assert files[name] == source.read_text(), (overlay, name)
        people = [
            user
            for document in files.values()
            for user in json.loads(document)["users"]
            if "serviceAccountClientId" not in user
        ]
        assert len(people) == (65 if overlay == "dev" else 0), overlay


def test_replicas_share_a_postgresql_cluster_of_the_operator(rendered: dict[str, Objects]) -> None:
    for overlay, objects in rendered.items():
        keycloak = of_kind(objects, "Deployment")["keycloak"]
        (database,) = of_kind(objects, "Cluster").values()
        assert (keycloak["spec"]["replicas"], database["spec"]["instances"]) == REPLICAS[overlay]
        env = env_of(keycloak)
        assert env["KC_DB"]["value"] == "postgres"
        assert env["KC_DB_URL_HOST"]["value"] == f"{database['metadata']['name']}-rw"
        assert (
            env["KC_DB_URL_DATABASE"]["value"]
            == database["spec"]["bootstrap"]["initdb"]["database"]
        )
        for variable, key in (("KC_DB_USERNAME", "username"), ("KC_DB_PASSWORD", "password")):
            reference = env[variable]["valueFrom"]["secretKeyRef"]
            assert reference == {"name": f"{database['metadata']['name']}-app", "key": key}
        assert env["KC_CACHE_STACK"]["value"] == "jdbc-ping", (
            "replicas find each other in the database"
        )
        budget = of_kind(objects, "PodDisruptionBudget")["keycloak"]
        assert budget["spec"]["maxUnavailable"] == 1


def test_every_credential_comes_from_a_secret_and_every_realm_placeholder_is_set(
    rendered: dict[str, Objects],
) -> None:
    placeholders = set(re.findall(r"\$\{([A-Z_]+)[:}]", REALM.read_text()))
    assert placeholders == {
        "GRIDCASE_OPS_CLIENT_SECRET",
        "GRIDCASE_PROVISIONER_CLIENT_SECRET",
        "GRIDCASE_WEB_URL",
        "GRIDCASE_WEB_URL_ALIAS",
    }
    for overlay, objects in rendered.items():
        env = env_of(of_kind(objects, "Deployment")["keycloak"])
        assert placeholders <= set(env), overlay
        for name, item in env.items():
            if any(word in name for word in ("SECRET", "PASSWORD", "USERNAME")):
                assert set(item) == {"name", "valueFrom"}, f"{overlay}: {name} in clear"
        web = json.loads(
            next(c for n, c in of_kind(objects, "ConfigMap").items() if "web-config" in n)["data"][
                "config.json"
            ]
        )
        for name in ("GRIDCASE_WEB_URL", "GRIDCASE_WEB_URL_ALIAS"):
            assert env[name]["value"].startswith("https://"), (overlay, name)
        assert web["oidcIssuer"].startswith(env["KC_HOSTNAME"]["value"] + "/realms/")
        assert not of_kind(objects, "Secret")


def test_the_fence_admits_the_services_and_the_ingress_and_keycloak_reaches_its_database(
    rendered: dict[str, Objects],
) -> None:
    for overlay, objects in rendered.items():
        policy = of_kind(objects, "NetworkPolicy")["keycloak"]["spec"]
        http, metrics, cluster = policy["ingress"]
        (services, controller) = http["from"]
        assert set(services["podSelector"]["matchExpressions"][0]["values"]) == set(SERVICES)
        assert controller["namespaceSelector"]["matchLabels"] == {
            "kubernetes.io/metadata.name": "ingress-nginx"
        }
        assert http["ports"] == [{"protocol": "TCP", "port": 8080}], overlay
        assert metrics["ports"] == [{"protocol": "TCP", "port": 9000}], overlay
        assert [p["port"] for p in cluster["ports"]] == [7800, 57800], overlay
        reached = {
            (tuple(sorted(peer["podSelector"]["matchLabels"].items())), p["port"])
            for rule in policy["egress"]
            for peer in rule["to"]
            for p in rule["ports"]
        }
        assert reached == {
            ((("k8s-app", "kube-dns"),), 53),
            ((("cnpg.io/cluster", "keycloak-db"),), 5432),
            ((("app.kubernetes.io/name", "keycloak"),), 7800),
            ((("app.kubernetes.io/name", "keycloak"),), 57800),
        }, overlay
        database = of_kind(objects, "NetworkPolicy")["keycloak-db"]["spec"]
        clients = [
            peer.get("podSelector", {}).get("matchLabels")
            for peer in database["ingress"][0]["from"]
        ]
        assert {"app.kubernetes.io/name": "keycloak"} in clients, overlay


BROKEN = {
    "an unpinned image": (
        "patches:\n- target: {kind: Deployment, name: keycloak}\n  patch: |-\n"
        "    - {op: replace, path: /spec/template/spec/containers/0/image, "
        "value: 'quay.io/keycloak/keycloak:latest'}\n",
        'image "quay.io/keycloak/keycloak:latest" must be pinned',
    ),
    "the development server": (
        "patches:\n- target: {kind: Deployment, name: keycloak}\n  patch: |-\n"
        "    - {op: replace, path: /spec/template/spec/containers/0/args, value: [start-dev]}\n",
        "must run `start --import-realm`",
    ),
    "a readiness probe on the HTTP port": (
        "patches:\n- target: {kind: Deployment, name: keycloak}\n  patch: |-\n"
        "    - {op: replace, path: /spec/template/spec/containers/0/readinessProbe/httpGet/port,"
        " value: http}\n",
        "readiness probe must GET /health/ready on the management port 9000",
    ),
    "no memory limit": (
        "patches:\n- target: {kind: Deployment, name: keycloak}\n  patch: |-\n"
        "    - {op: remove, path: /spec/template/spec/containers/0/resources/limits/memory}\n",
        "resources.limits.memory is required",
    ),
    "an issuer of another host": (
        "configMapGenerator:\n- name: gridcase-config\n  behavior: merge\n  literals:\n"
        "  - GRIDCASE_JWT_ISSUER=https://id.example.org/realms/gridcase\n",
        '"https://id.example.org/realms/gridcase" is not a realm of Keycloak\'s hostname',
    ),
    "an issuer of a realm not imported": (
        "configMapGenerator:\n- name: gridcase-config\n  behavior: merge\n  literals:\n"
        "  - GRIDCASE_JWT_ISSUER=https://sso.gridcase.example.org/realms/master\n",
        'names realm "master", which Keycloak does not import',
    ),
    "keys fetched from a Service that does not exist": (
        "configMapGenerator:\n- name: gridcase-config\n  behavior: merge\n  literals:\n"
        "  - GRIDCASE_JWKS_URL=http://keycloak-service:8080/realms/gridcase/protocol/"
        "openid-connect/certs\n",
        "keycloak-service:8080 reaches no Service port that forwards to Keycloak's HTTP port",
    ),
    "a hostname the Ingress does not publish": (
        "patches:\n- target: {kind: Ingress, name: keycloak}\n  patch: |-\n"
        "    - {op: replace, path: /spec/rules/0/host, value: login.example.org}\n",
        "no Ingress rule of host sso.gridcase.example.org sends /realms/gridcase/",
    ),
    "a service fenced off": (
        "patches:\n- target: {kind: NetworkPolicy, name: intake}\n  patch: |-\n"
        "    - {op: remove, path: /spec/egress/2}\n",
        "the NetworkPolicies keep Deployment intake from Keycloak's port 8080",
    ),
    "the ingress controller fenced off": (
        "patches:\n- target: {kind: NetworkPolicy, name: keycloak}\n  patch: |-\n"
        "    - {op: remove, path: /spec/ingress/0/from/1}\n",
        "keep the ingress controller (namespace ingress-nginx) from Keycloak's port 8080",
    ),
}


@pytest.mark.parametrize("variant", list(BROKEN))
def test_the_validator_refuses_a_broken_identity_provider(
    validator: Path, tmp_path: Path, variant: str
) -> None:
    change, problem = BROKEN[variant]
    dev = os.path.relpath(ROOT / "k8s" / "overlays" / "dev", tmp_path)  # kustomize wants it so
    (tmp_path / "kustomization.yaml").write_text(f"resources: [{dev}]\n{change}")
    result = run(validator, "k8s", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert problem in result.stdout, result.stdout
