"""k8s/: every overlay built with the kustomize API and strictly schema-checked by the Go
validator, then the deployment rules checked on the objects it rendered."""

import json
import re
from pathlib import Path
from typing import Any

from deploy_support import OVERLAYS, SERVICES, run

from gridcase_contracts.topics import ALL_TOPICS, CASE_EVENTS

Objects = list[dict[str, Any]]


def of_kind(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def of_services(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    """The objects of `kind` that belong to the four gridcase services (not the web apps)."""
    return {name: obj for name, obj in of_kind(objects, kind).items() if name in SERVICES}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def test_every_overlay_passes_strict_schema_validation(validator: Path) -> None:
    result = run(validator, "k8s", *OVERLAYS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(", 0 problems") == len(OVERLAYS) >= 2


def test_the_validator_rejects_unknown_fields_kinds_and_incomplete_topics(
    validator: Path, tmp_path: Path
) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [objects.yaml]\n")
    (tmp_path / "objects.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {portz: []}\n---\n"
        "apiVersion: example.org/v1\nkind: Widget\nmetadata: {name: b}\n---\n"
        "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaTopic\nmetadata: {name: c}\n"
        "spec: {partitions: 0, replicas: 1}\n"
    )
    result = run(validator, "k8s", tmp_path)
    assert result.returncode == 1
    assert 'unknown field "spec.portz"' in result.stdout
    assert "Widget.v1.example.org/b.[noNs]: kind is neither a Kubernetes built-in" in result.stdout
    assert "label strimzi.io/cluster is required" in result.stdout
    assert "spec.partitions must be set and at least 1" in result.stdout


MONGO_USERS = {
    "intake": "intake",
    "assignment": "assignment",
    "remediation-tracking": "remediation",
}
"""The MongoDB user of each service that keeps data (statistics has none)."""


def test_each_service_has_its_objects(rendered: dict[str, Objects]) -> None:
    for overlay, objects in rendered.items():
        for kind in ["Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"]:
            assert set(of_services(objects, kind)) == set(SERVICES), (overlay, kind)
            assert set(of_kind(objects, kind)) - set(SERVICES) <= {"web", "keycloak"}
        autoscaled = set(SERVICES) - {"statistics"} if overlay != "dev" else set()
        assert set(of_kind(objects, "HorizontalPodAutoscaler")) == autoscaled, overlay
        assert not of_kind(objects, "Secret"), "secrets are created in the cluster, not committed"


def test_deployments_are_hardened_probed_and_configured(rendered: dict[str, Objects]) -> None:
    for overlay, objects in rendered.items():
        config_maps = of_kind(objects, "ConfigMap")
        accounts = of_kind(objects, "ServiceAccount")
        for name, deployment in of_services(objects, "Deployment").items():
            command, prefix, port = SERVICES[name]
            pod = deployment["spec"]["template"]["spec"]
            main = container(deployment)
            where = f"{overlay}/{name}"
            assert main["command"] == [command], where
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["serviceAccountName"] in accounts, where
            assert main["securityContext"]["readOnlyRootFilesystem"] is True, where
            assert main["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert main["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            volumes = {volume["name"]: volume for volume in pod["volumes"]}
            mounts = {mount["mountPath"]: mount["name"] for mount in main["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], where
            assert {"cpu", "memory"} <= set(main["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(main["resources"]["limits"]), where
            assert main["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
            assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            env = {item["name"]: item for item in main["env"]}
            assert env[f"{prefix}HOST"]["value"] == "0.0.0.0", where
            assert env[f"{prefix}PORT"]["value"] == str(port), where
            if name == "statistics":
                assert "MONGODB_URL" not in env, "statistics keeps nothing in MongoDB"
            else:
                assert set(env["MONGODB_URL"]) == {"name", "valueFrom"}, f"{where}: literal URL"
                own = f"gridcase-mongodb-admin-{MONGO_USERS[name]}"
                assert env["MONGODB_URL"]["valueFrom"]["secretKeyRef"]["name"] == own, where
            assert not any("JWT_SECRET" in name for name in env), f"{where}: a signing secret"
            [config] = main["envFrom"]
            assert config["configMapRef"]["name"] in config_maps, where
            settings = config_maps[config["configMapRef"]["name"]]["data"]
            assert settings["GRIDCASE_JWT_ISSUER"].endswith("/realms/gridcase"), where
            assert settings["GRIDCASE_JWKS_URL"].endswith("/protocol/openid-connect/certs")


def test_each_mongodb_user_reads_and_writes_its_own_database_only(
    rendered: dict[str, Objects],
) -> None:
    for overlay, objects in rendered.items():
        mongodb = of_kind(objects, "MongoDBCommunity")["gridcase-mongodb"]
        users = {user["name"]: user for user in mongodb["spec"]["users"]}
        assert set(users) == set(MONGO_USERS.values()), overlay
        for user in users.values():
            assert user["roles"] == [{"name": "readWrite", "db": f"gridcase_{user['name']}"}]
            assert user["passwordSecretRef"]["name"] == f"gridcase-mongodb-{user['name']}-password"


def test_services_and_disruption_budgets_select_their_pods(rendered: dict[str, Objects]) -> None:
    for overlay, objects in rendered.items():
        deployments = of_kind(objects, "Deployment")
        for name, service in of_services(objects, "Service").items():
            labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
            assert service["spec"]["selector"].items() <= labels.items(), (overlay, name)
            assert service["spec"]["ports"][0]["port"] == SERVICES[name][2]
        for name, budget in of_kind(objects, "PodDisruptionBudget").items():
            labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
            assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_kafka_topics_match_the_contracts(rendered: dict[str, Objects]) -> None:
    for overlay, objects in rendered.items():
        declared = {
            topic["spec"]["topicName"]: (topic["spec"]["partitions"], topic["spec"]["config"])
            for topic in of_kind(objects, "KafkaTopic").values()
        }
        expected = {spec.name: spec for spec in ALL_TOPICS}
        assert set(declared) == set(expected), overlay
        for name, (partitions, config) in declared.items():
            assert partitions == expected[name].partitions, (overlay, name)
            assert int(config["retention.ms"]) == expected[name].retention_ms, (overlay, name)


def test_consumers_never_scale_past_the_partitions(rendered: dict[str, Objects]) -> None:
    """Every service consumes gridcase.case-events in its own group; replicas beyond the
    partition count would sit idle."""
    for overlay, objects in rendered.items():
        deployments = of_kind(objects, "Deployment")
        for name, deployment in deployments.items():
            assert deployment["spec"]["replicas"] <= CASE_EVENTS.partitions, (overlay, name)
        for name, autoscaler in of_kind(objects, "HorizontalPodAutoscaler").items():
            spec = autoscaler["spec"]
            assert spec["scaleTargetRef"]["name"] in deployments, (overlay, name)
            assert spec["minReplicas"] <= spec["maxReplicas"] <= CASE_EVENTS.partitions
            assert deployments[name]["spec"]["replicas"] >= spec["minReplicas"], (overlay, name)


def test_dev_runs_one_replica_and_prod_several_of_a_pinned_image(
    rendered: dict[str, Objects],
) -> None:
    """statistics serves figures from the table partitions it holds: always one replica."""
    for deployment in of_kind(rendered["dev"], "Deployment").values():
        assert deployment["spec"]["replicas"] == 1
    assert of_kind(rendered["dev"], "MongoDBCommunity")["gridcase-mongodb"]["spec"]["members"] == 1
    prod = {"statistics": 1, "keycloak": 2, "web": 2}
    for name, deployment in of_kind(rendered["prod"], "Deployment").items():
        assert deployment["spec"]["replicas"] == prod.get(name, 3), name
        tag = container(deployment)["image"].rpartition(":")[2]
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"prod image tag {tag} is not a release"
    assert of_kind(rendered["prod"], "MongoDBCommunity")["gridcase-mongodb"]["spec"]["members"] >= 3


def test_the_web_apps_are_served_behind_the_ingress(rendered: dict[str, Objects]) -> None:
    for overlay, objects in rendered.items():
        web = of_kind(objects, "Deployment")["web"]
        main = container(web)
        assert main["securityContext"]["readOnlyRootFilesystem"] is True, overlay
        assert main["securityContext"]["allowPrivilegeEscalation"] is False, overlay
        assert main["image"].rpartition("/")[2].startswith("gridcase-web:"), overlay
        service = of_kind(objects, "Service")["web"]
        labels = web["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), overlay
        [rule] = of_kind(objects, "Ingress")["gridcase"]["spec"]["rules"]
        [path] = rule["http"]["paths"]
        assert (path["path"], path["backend"]["service"]["name"]) == ("/", "web"), overlay
        [settings] = [c for n, c in of_kind(objects, "ConfigMap").items() if "web-config" in n]
        config = json.loads(settings["data"]["config.json"])
        assert config["devTokens"] is False, overlay
        assert config["oidcIssuer"].endswith("/realms/gridcase"), overlay


def test_each_producer_holds_only_its_own_signing_key_and_all_trust_the_public_keys(
    rendered: dict[str, Objects],
) -> None:
    for overlay, objects in rendered.items():
        config = of_kind(objects, "ConfigMap")
        (trust,) = [c for name, c in config.items() if name.startswith("gridcase-config")]
        trusted_file = trust["data"]["GRIDCASE_TRUSTED_KEYS_FILE"]
        for name, deployment in of_kind(objects, "Deployment").items():
            if name not in SERVICES:
                continue
            where = f"{overlay}/{name}"
            volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
            mounts = {m["name"]: m["mountPath"] for m in container(deployment)["volumeMounts"]}
            assert volumes["trusted-keys"]["configMap"]["name"] == "gridcase-trusted-keys"
            assert trusted_file.startswith(mounts["trusted-keys"] + "/"), where
            secrets = {v["secret"]["secretName"] for v in volumes.values() if "secret" in v}
            signing = {secret for secret in secrets if secret.startswith("gridcase-signing-")}
            if name == "statistics":
                assert signing == set(), f"{where} produces no events and holds no key"
                continue
            assert signing == {f"gridcase-signing-{name}"}, where
            env = {e["name"]: e.get("value") for e in container(deployment)["env"]}
            key_file = env[f"{SERVICES[name][1]}SIGNING_KEY_FILE"]
            assert key_file.startswith(mounts["signing-key"] + "/"), where
