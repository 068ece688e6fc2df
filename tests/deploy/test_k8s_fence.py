"""k8s/: the Kafka cluster (KRaft, TLS with SCRAM, ACLs), one Kafka user per service, the
network fence and the PodMonitor, checked on the objects the validator rendered."""

from pathlib import Path
from typing import Any

from deploy_support import SERVICES, run
from test_k8s import Objects, container, of_kind

from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_access import Grant, grants

NODES = {"dev": 1, "prod": 3}


def test_kafka_runs_in_kraft_on_one_node_in_dev_and_three_in_prod(
    rendered: dict[str, Objects],
) -> None:
    for overlay, objects in rendered.items():
        (pool,) = of_kind(objects, "KafkaNodePool").values()
        nodes = NODES[overlay]
        assert pool["spec"]["replicas"] == nodes, overlay
        assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "gridcase"
        kafka = of_kind(objects, "Kafka")["gridcase"]
        annotations = kafka["metadata"]["annotations"]
        assert annotations["strimzi.io/kraft"] == annotations["strimzi.io/node-pools"] == "enabled"
        config = kafka["spec"]["kafka"]["config"]
        for factor in (
            "default.replication.factor",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
            "share.coordinator.state.topic.replication.factor",
        ):
            assert config[factor] == nodes, (overlay, factor)
        for isr in ("min.insync.replicas", "transaction.state.log.min.isr"):
            assert config[isr] == min(2, nodes), (overlay, isr)
        for topic in of_kind(objects, "KafkaTopic").values():
            assert topic["spec"]["replicas"] == nodes, overlay


def test_the_one_listener_is_tls_with_scram_and_the_services_connect_to_it(
    rendered: dict[str, Objects],
) -> None:
    for overlay, objects in rendered.items():
        kafka = of_kind(objects, "Kafka")["gridcase"]["spec"]["kafka"]
        (listener,) = kafka["listeners"]
        assert (listener["tls"], listener["authentication"]["type"]) == (True, "scram-sha-512")
        assert kafka["authorization"]["type"] == "simple"
        (peers,) = listener["networkPolicyPeers"]
        (names,) = peers["podSelector"]["matchExpressions"]
        assert (names["key"], set(names["values"])) == ("app.kubernetes.io/name", set(SERVICES))
        configs = of_kind(objects, "ConfigMap")
        (config,) = [c["data"] for name, c in configs.items() if name.startswith("gridcase-config")]
        port = listener["port"]
        assert config["KAFKA_BOOTSTRAP_SERVERS"] == f"gridcase-kafka-bootstrap:{port}", overlay
        assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert config["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        for name in SERVICES:
            deployment = of_kind(objects, "Deployment")[name]
            env = {e["name"]: e for e in container(deployment)["env"]}
            assert env["KAFKA_SASL_USERNAME"]["value"] == name, (overlay, name)
            password = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert password == {"name": name, "key": "password"}, (overlay, name)
            volumes = deployment["spec"]["template"]["spec"]["volumes"]
            (ca,) = [v for v in volumes if v["name"] == "kafka-ca"]
            assert ca["secret"]["secretName"] == "gridcase-cluster-ca-cert"
            mounts = {m["name"]: m["mountPath"] for m in container(deployment)["volumeMounts"]}
            assert config["KAFKA_SSL_CAFILE"] == mounts["kafka-ca"] + "/ca.crt"


def acls(user: dict[str, Any]) -> list[Grant]:
    return [
        Grant(
            acl["resource"]["type"],
            acl["resource"]["name"],
            acl["resource"].get("patternType", "literal"),
            frozenset(acl["operations"]),
        )
        for acl in user["spec"]["authorization"]["acls"]
    ]


def test_each_kafka_user_has_exactly_the_grants_of_the_one_table(
    rendered: dict[str, Objects],
) -> None:
    for objects in rendered.values():
        users = of_kind(objects, "KafkaUser")
        assert set(users) == set(SERVICES)
        for name, user in users.items():
            assert user["spec"]["authentication"]["type"] == "scram-sha-512"
            assert acls(user) == grants(Service(name)), name


def test_the_namespace_is_fenced(rendered: dict[str, Objects]) -> None:
    for overlay, objects in rendered.items():
        policies = of_kind(objects, "NetworkPolicy")
        deny = policies["default-deny"]["spec"]
        assert (deny["podSelector"], sorted(deny["policyTypes"])) == ({}, ["Egress", "Ingress"])
        assert not {"ingress", "egress"} & set(deny)
        deployments = of_kind(objects, "Deployment")
        assert set(deployments) == {*SERVICES, "web", "keycloak"}
        for name, deployment in deployments.items():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            selecting = [
                p["spec"]
                for p in policies.values()
                if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
                and p["spec"]["podSelector"]
            ]
            (policy,) = selecting
            if name == "web":
                reached = {
                    (peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name"), p["port"])
                    for rule in policy["egress"]
                    for peer in rule["to"]
                    for p in rule["ports"]
                }
                services = {(service, port) for service, (_, _, port) in SERVICES.items()}
                assert reached == {*services, (None, 53)}, overlay
                continue
            if name == "keycloak":  # test_k8s_keycloak.py
                continue
            port = SERVICES[name][2]
            (ingress,) = policy["ingress"]
            assert ingress["ports"] == [{"protocol": "TCP", "port": port}], (overlay, name)
            sources = [peer.get("podSelector", {}).get("matchLabels") for peer in ingress["from"]]
            assert {"app.kubernetes.io/name": "prometheus"} in sources
            assert {"app.kubernetes.io/name": "web"} in sources
            reached = {
                (
                    tuple(sorted(peer.get("podSelector", {}).get("matchLabels", {}).items())),
                    p["port"],
                )
                for rule in policy["egress"]
                for peer in rule["to"]
                for p in rule["ports"]
            }
            expected = {
                ((("k8s-app", "kube-dns"),), 53),
                (
                    (
                        ("strimzi.io/broker-role", "true"),
                        ("strimzi.io/cluster", "gridcase"),
                        ("strimzi.io/kind", "Kafka"),
                    ),
                    9093,
                ),
                ((("app.kubernetes.io/name", "keycloak"),), 8080),
            }
            if name != "statistics":
                expected.add(((("app", "gridcase-mongodb-svc"),), 27017))
            assert reached == expected, (overlay, name)
        mongo = policies["mongodb"]["spec"]
        (mongo_ingress,) = mongo["ingress"]
        clients = {
            peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name")
            for peer in mongo_ingress["from"]
        }
        assert clients == {"intake", "assignment", "remediation-tracking", None}, overlay


def test_a_pod_monitor_scrapes_every_service_beside_the_annotations(
    rendered: dict[str, Objects],
) -> None:
    for objects in rendered.values():
        (monitor,) = of_kind(objects, "PodMonitor").values()
        spec = monitor["spec"]
        assert spec["jobLabel"] == "app.kubernetes.io/name"
        (names,) = spec["selector"]["matchExpressions"]
        assert set(names["values"]) == set(SERVICES)
        (endpoint,) = spec["podMetricsEndpoints"]
        for name in SERVICES:
            deployment = of_kind(objects, "Deployment")[name]
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/path"] == endpoint["path"] == "/metrics"
            ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
            assert str(ports[endpoint["port"]]) == annotations["prometheus.io/port"]


def test_the_validator_rejects_an_unfenced_kafka_and_loose_users(
    validator: Path, tmp_path: Path
) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [objects.yaml]\n")
    (tmp_path / "objects.yaml").write_text(
        "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata: {name: k}\n"
        "spec:\n  kafka:\n    version: 4.1.1\n"
        "    listeners: [{name: plain, port: 9092, type: internal, tls: false}]\n"
        "---\n"
        "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\n"
        "metadata: {name: u, labels: {strimzi.io/cluster: k}}\n"
        "spec:\n  authentication: {type: scram-sha-512}\n  authorization:\n"
        "    type: simple\n    acls: [{resource: {type: topic, name: t}, operations: [Eat]}]\n"
        "---\n"
        "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: m}\n"
        "spec: {selector: {}, podMetricsEndpoints: [{path: metrics}]}\n"
    )
    result = run(validator, "k8s", tmp_path)
    assert result.returncode == 1
    for problem in (
        "annotation strimzi.io/kraft: enabled is required",
        "listener plain: must use TLS",
        "listener plain: authentication must be scram-sha-512 or tls",
        "spec.kafka.authorization.type must be simple (ACLs)",
        'spec.authorization.acls[0]: unknown operation "Eat"',
        "spec.podMetricsEndpoints[0]: a named port and an absolute path are required",
    ):
        assert problem in result.stdout, problem
