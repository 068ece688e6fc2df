"""docker-compose.yml: loaded by the Compose specification's own loader, then its invariants."""

import re
from pathlib import Path
from typing import Any

from deploy_support import ROOT, SERVICES, run

from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_access import PASSWORD_VARIABLES

INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY|MONGODB_URL", re.IGNORECASE)


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings(value)]
    return []


def is_one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def test_the_compose_loader_accepts_the_file_with_the_example_env(validator: Path) -> None:
    env = ROOT / ".env.example"
    result = run(validator, "compose", "-env-file", env, ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_loader_rejects_a_missing_secret(validator: Path, tmp_path: Path) -> None:
    env = tmp_path / "incomplete.env"
    lines = (ROOT / ".env.example").read_text().splitlines()
    missing = "KEYCLOAK_ADMIN_PASSWORD="
    env.write_text("\n".join(line for line in lines if not line.startswith(missing)))
    result = run(validator, "compose", "-env-file", env, ROOT / "docker-compose.yml")
    assert result.returncode != 0
    assert "KEYCLOAK_ADMIN_PASSWORD" in result.stderr


def test_every_service_is_healthchecked_or_a_one_shot(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "healthcheck" in service or is_one_shot(service), name


def test_depends_on_conditions_fit_the_dependency(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} -> {dependency}"
            else:
                assert condition == "service_completed_successfully", f"{name} -> {dependency}"
                assert is_one_shot(services[dependency]), f"{name} -> {dependency}"


def test_every_one_shot_is_awaited_by_a_dependent(compose: dict[str, Any]) -> None:
    awaited = {
        dependency
        for service in compose["services"].values()
        for dependency, rule in service.get("depends_on", {}).items()
        if rule["condition"] == "service_completed_successfully"
    }
    one_shots = {name for name, service in compose["services"].items() if is_one_shot(service)}
    assert one_shots == awaited


def test_secrets_come_only_from_the_env_file(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if not SECRET_NAME.search(key):
                continue
            literal = INTERPOLATION.sub("", str(value))
            if key == "MONGODB_URL":
                credentials = literal.removeprefix("mongodb://").split("@", 1)[0]
                assert credentials == ":", f"{name}.{key} has literal credentials"
            else:
                assert literal == "", f"{name}.{key} is not read from the env file"
    referenced = {m.group(1) for text in strings(compose) for m in INTERPOLATION.finditer(text)}
    assert referenced <= set(env_example), f"not in .env.example: {referenced - set(env_example)}"
    for variable, placeholder in env_example.items():
        if SECRET_NAME.search(variable):
            assert "change-me" in placeholder, f".env.example holds a real-looking {variable}"


def test_env_file_is_git_ignored() -> None:
    assert run("git", "check-ignore", "-q", ".env").returncode == 0
    assert run("git", "check-ignore", "-q", ".env.example").returncode == 1


def test_images_are_pinned(compose: dict[str, Any], env_example: dict[str, str]) -> None:
    for name, service in compose["services"].items():
        image = INTERPOLATION.sub(lambda m: env_example[m.group(1)], service["image"])
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name} image {image} has no tag"
        assert re.fullmatch(r"v?\d+(\.\d+)+", tag), f"{name} image {image} is not a pinned version"


def test_gridcase_services_listen_on_all_interfaces_at_their_ports(compose: dict[str, Any]) -> None:
    for name, (command, prefix, port) in SERVICES.items():
        service = compose["services"][name]
        environment = service["environment"]
        assert service["command"] == [command]
        assert environment[f"{prefix}HOST"] == "0.0.0.0"
        assert int(environment[f"{prefix}PORT"]) == port
        assert environment["GRIDCASE_ENV"] == "production"
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["ports"] == [f"{port}:{port}"]
        assert service["read_only"] is True
        assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"


def test_mongodb_is_an_authenticated_replica_set(compose: dict[str, Any]) -> None:
    mongo = compose["services"]["mongo"]
    assert mongo["image"].startswith("mongo:8.")
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "--keyFile" in command
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    for name, (_, prefix, _) in SERVICES.items():
        url = compose["services"][name]["environment"].get("MONGODB_URL")
        if name == "statistics":
            assert url is None, "statistics keeps nothing in MongoDB and gets no user"
            continue
        own = rf"mongodb://\$\{{{prefix}MONGO_USERNAME:\?[^}}]+\}}:\$\{{{prefix}MONGO_PASSWORD:\?[^}}]+\}}"
        assert re.fullmatch(own + r"@mongo:27017/\?(.+)", url), f"{name} uses its own user"
        assert {"authSource=admin", "replicaSet=rs0"} <= set(url.rsplit("?", 1)[1].split("&"))


def test_each_mongodb_user_reads_and_writes_its_own_database_only() -> None:
    script = (ROOT / "deploy" / "docker" / "mongo-init" / "10-service-users.js").read_text()
    users = re.findall(r'prefix: "(\w+)", database: "(\w+)"', script)
    assert users == [
        ("INTAKE", "gridcase_intake"),
        ("ASSIGNMENT", "gridcase_assignment"),
        ("REMEDIATION", "gridcase_remediation"),
    ]
    assert 'roles: [{ role: "readWrite", db: database }]' in script


def properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_kafka_has_one_client_listener_with_tls_and_scram_and_acls(
    compose: dict[str, Any],
) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert kafka["command"] == ["bash", "/etc/kafka/gridcase/start.sh"]
    config = properties(ROOT / "deploy" / "docker" / "kafka" / "server.properties")
    assert config["listener.security.protocol.map"] == "CLIENT:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
    assert config["advertised.listeners"] == "CLIENT://kafka:9092"
    assert config["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert config["authorizer.class.name"].endswith(".StandardAuthorizer")
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert config["super.users"] == "User:broker;User:admin"
    local = properties(ROOT / "deploy" / "kafka" / "server.properties")
    for same in ("authorizer.class.name", "allow.everyone.if.no.acl.found", "super.users"):
        assert config[same] == local[same], same
    tls = compose["services"]["kafka-tls"]
    assert is_one_shot(tls)
    assert "kafka-tls:/etc/kafka/tls:ro" in kafka["volumes"]


def test_kafka_init_grants_each_service_its_own_user_and_acls(compose: dict[str, Any]) -> None:
    init = compose["services"]["kafka-init"]
    assert init["command"] == ["gridcase", "kafka-access"]
    environment = init["environment"]
    assert (environment["KAFKA_SECURITY_PROTOCOL"], environment["KAFKA_SASL_USERNAME"]) == (
        "SASL_SSL",
        "admin",
    )
    for name in SERVICES:
        service = compose["services"][name]["environment"]
        assert service["KAFKA_SASL_USERNAME"] == name
        assert service["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        variable = PASSWORD_VARIABLES[Service(name)]
        assert service["KAFKA_SASL_PASSWORD"] == environment[variable], name
        assert f"${{{variable}:?" in service["KAFKA_SASL_PASSWORD"], name


def test_the_validator_refuses_a_service_without_a_kafka_login_of_its_own(
    validator: Path, tmp_path: Path
) -> None:
    original = (ROOT / "docker-compose.yml").read_text()
    shared = tmp_path / "shared-user.yml"
    shared.write_text(
        original.replace("KAFKA_SASL_USERNAME: assignment", "KAFKA_SASL_USERNAME: intake")
    )
    plaintext = tmp_path / "plaintext.yml"
    plaintext.write_text(
        original.replace(
            "  KAFKA_SECURITY_PROTOCOL: SASL_SSL\n  KAFKA_SASL_MECHANISM",
            "  KAFKA_SECURITY_PROTOCOL: PLAINTEXT\n  KAFKA_SASL_MECHANISM",
        )
    )
    env = ROOT / ".env.example"
    refused = run(validator, "compose", "-env-file", env, shared)
    assert refused.returncode != 0
    assert 'intake: shares the Kafka user "intake" with assignment' in refused.stderr
    refused = run(validator, "compose", "-env-file", env, plaintext)
    assert refused.returncode != 0
    for name in SERVICES:
        assert f'{name}: KAFKA_SECURITY_PROTOCOL is "PLAINTEXT", not SASL_SSL' in refused.stderr


def test_prometheus_and_grafana_mount_this_repository_s_files(compose: dict[str, Any]) -> None:
    for service in ("prometheus", "grafana"):
        for volume in compose["services"][service]["volumes"]:
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{service} mounts missing {source}"


def test_the_web_apps_are_served_by_nginx_in_front_of_the_services(
    compose: dict[str, Any],
) -> None:
    web = compose["services"]["web"]
    assert web["build"]["dockerfile"] == "deploy/docker/web.Dockerfile"
    assert web["read_only"] is True
    assert web["ports"] == ["8081:8081"]
    assert set(web["depends_on"]) == set(SERVICES)
    [settings] = web["volumes"]
    source, target = settings.split(":")[:2]
    assert target == "/usr/share/nginx/html/config.json"
    assert (ROOT / source).exists()
    proxied = (ROOT / "deploy" / "nginx" / "container.conf").read_text()
    for name, (_, _, port) in SERVICES.items():
        assert f"proxy_pass http://{name}:{port}/;" in proxied


def test_each_producer_gets_only_its_own_signing_key(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("intake", "assignment", "remediation-tracking"):
        assert services[name]["secrets"] == [f"{name}-signing-key"]
    assert "secrets" not in services["statistics"]
    for name in ("intake", "assignment", "remediation-tracking", "statistics"):
        (config,) = services[name]["configs"]
        trusted = services[name]["environment"]["GRIDCASE_TRUSTED_KEYS_FILE"]
        assert (config["source"], config["target"]) == ("trusted-keys", trusted)
    assert run("git", "check-ignore", "-q", "secrets/signing/intake.key").returncode == 0
