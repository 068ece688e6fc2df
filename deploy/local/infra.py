#!/usr/bin/env python3
"""Runs gridcase locally without Docker: Apache Kafka (KRaft) from Maven Central jars,
FerretDB built with Go on PostgreSQL and Prometheus (both from Debian's packages), and the
four services.

    infra.py install        fetch jars and Keycloak, build the Mongo-wire server, install
                            PostgreSQL, Prometheus, nginx, a CJK font and Chromium, build
                            the web apps, create local event-signing keys
    infra.py up [NAME...]   install, then start what is not running and wait until ready
                            (no names: kafka, postgres, ferretdb, prometheus, keycloak; "all":
                            and the services and nginx; ferretdb brings postgres along)
    infra.py down [NAME...] stop the named components (no names: everything)
    infra.py reset          stop everything, then wipe data and logs
    infra.py status         what is running
    infra.py run            everything in the foreground, supervised; Ctrl-C stops all
    infra.py mongo-url [SERVICE]
                            the Mongo-wire server's URL with the administrator's
                            credentials, or with a service's own
    infra.py service-env SERVICE
                            the environment `up` gives that service, as JSON (to run
                            it under another launcher, such as the bench's profiler)
    infra.py kafka-env [USER]
                            the KAFKA_* settings (JSON) of a Kafka client logging in as the
                            administrator (admin), or as a service

Kafka asks every client for SASL/SCRAM-SHA-512 credentials and its ACLs decide the rest:
each service gets its own user, password and ACLs (from `gridcase kafka-access`, run before
the services start); the passwords are made once, into .local/kafka/credentials.json.
KAFKA_NODES=3 makes Kafka a cluster of three KRaft nodes (each broker and controller,
components kafka, kafka-2 and kafka-3, started together): topics have three replicas and
`min.insync.replicas` is 2.

Only the standard library is used, so it runs before the virtual environment exists.
Jars and binaries live under .local/ (git-ignored); so do data, logs and pid files unless
GRIDCASE_INFRA_STATE names another folder. Ports come from the environment:
KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), in a cluster KAFKA_2_PORT (9094),
KAFKA_2_CONTROLLER_PORT (9095), KAFKA_3_PORT (9096) and KAFKA_3_CONTROLLER_PORT (9097),
POSTGRES_PORT (5432), MONGO_PORT (27017),
PROMETHEUS_PORT (9090), KEYCLOAK_PORT (8080), NGINX_PORT (8081: the web apps and the
services under /api/), and the services' own INTAKE_PORT (8001), ASSIGNMENT_PORT (8002),
REMEDIATION_PORT (8003) and STATISTICS_PORT (8004). PostgreSQL runs as the `postgres`
system user when started by root.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
LOCAL = ROOT / ".local"
KAFKA_LIBS = LOCAL / "kafka-libs"
BIN = LOCAL / "bin"
STATE = Path(os.environ.get("GRIDCASE_INFRA_STATE", LOCAL))
DATA = STATE / "data"
LOGS = STATE / "logs"
RUN = STATE / "run"
FERRETDB_BIN = BIN / "gridcase-ferretdb"
KEYCLOAK_VERSION = "26.4.5"
KEYCLOAK_HOME = LOCAL / f"keycloak-{KEYCLOAK_VERSION}"
KEYCLOAK_REALM = DEPLOY / "keycloak" / "gridcase-realm.json"
KEYCLOAK_DEMO_USERS = DEPLOY / "keycloak" / "demo" / "gridcase-users-0.json"
SIGNING = LOCAL / "signing"
KAFKA_CREDENTIALS = LOCAL / "kafka" / "credentials.json"
KAFKA_ADMIN = "admin"
KAFKA_BROKER = "broker"
TRUSTED_KEYS = SIGNING / "trusted-keys.json"

KAFKA_PORT = int(os.environ.get("KAFKA_PORT", "9092"))
CONTROLLER_PORT = int(os.environ.get("KAFKA_CONTROLLER_PORT", "9093"))
KAFKA_NODES = int(os.environ.get("KAFKA_NODES", "1"))
KAFKA_REPLICAS = min(KAFKA_NODES, 3)
KAFKA_MIN_INSYNC = max(1, KAFKA_REPLICAS - 1)


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node of the local Kafka (broker and controller in one process)."""

    id: int

    @property
    def name(self) -> str:
        return "kafka" if self.id == 1 else f"kafka-{self.id}"

    def _port(self, kind: str, default: int) -> int:
        variable = "KAFKA_" + ("" if self.id == 1 else f"{self.id}_") + kind
        return int(os.environ.get(variable, str(default + 2 * (self.id - 1))))

    @property
    def port(self) -> int:
        return self._port("PORT", 9092) if self.id > 1 else KAFKA_PORT

    @property
    def controller_port(self) -> int:
        return self._port("CONTROLLER_PORT", 9093) if self.id > 1 else CONTROLLER_PORT

    @property
    def data(self) -> Path:
        return DATA / self.name


KAFKA_CLUSTER = [KafkaNode(n) for n in range(1, KAFKA_NODES + 1)]
KAFKA_NODE_NAMES = {node.name for node in KAFKA_CLUSTER}
MONGO_PORT = int(os.environ.get("MONGO_PORT", "27017"))
POSTGRES_PORT = int(os.environ.get("POSTGRES_PORT", "5432"))
# The services started from here find Kafka on this port.
os.environ.setdefault(
    "KAFKA_BOOTSTRAP_SERVERS", ",".join(f"127.0.0.1:{node.port}" for node in KAFKA_CLUSTER)
)
# ... and create the topics they need themselves (statistics' changelogs) with as many
# replicas as the cluster's own.
os.environ.setdefault("GRIDCASE_KAFKA_REPLICATION_FACTOR", str(KAFKA_REPLICAS))
# Local-only credentials (PostgreSQL and FerretDB listen on 127.0.0.1 only). FerretDB hands
# a client's PLAIN user name and password to PostgreSQL: the administrator is PostgreSQL's
# superuser (for tests, tools and FerretDB's catalogue); each service that keeps data logs
# in as its own role, which owns its database (a schema) and nothing else.
MONGO_ADMIN = ("postgres", "gridcase-admin-local-only")
MONGO_ROLES = {  # service: (role, password, database)
    "intake": ("gridcase_intake", "gridcase-intake-local-only", "gridcase_intake"),
    "assignment": ("gridcase_assignment", "gridcase-assignment-local-only", "gridcase_assignment"),
    "remediation-tracking": (
        "gridcase_remediation",
        "gridcase-remediation-local-only",
        "gridcase_remediation",
    ),
}


def mongo_url(user: str, password: str) -> str:
    """The local Mongo-wire server's URL for one PostgreSQL role."""
    return f"mongodb://{user}:{password}@127.0.0.1:{MONGO_PORT}/?authMechanism=PLAIN"


# Each service signs its events with its own key and verifies the others' (local keys).
os.environ.setdefault("GRIDCASE_TRUSTED_KEYS_FILE", str(TRUSTED_KEYS))
for _prefix, _service in (
    ("INTAKE", "intake"),
    ("ASSIGNMENT", "assignment"),
    ("REMEDIATION", "remediation-tracking"),
):
    os.environ.setdefault(f"{_prefix}_SIGNING_KEY_FILE", str(SIGNING / f"{_service}.key"))
PROMETHEUS_PORT = int(os.environ.get("PROMETHEUS_PORT", "9090"))
KEYCLOAK_PORT = int(os.environ.get("KEYCLOAK_PORT", "8080"))
KEYCLOAK_URL = f"http://127.0.0.1:{KEYCLOAK_PORT}"
# The services (and `gridcase token`) trust this provider's tokens only.
os.environ.setdefault("GRIDCASE_JWT_ISSUER", f"{KEYCLOAK_URL}/realms/gridcase")
# The realm's operations account (admin role); the local realm's default secret.
os.environ.setdefault("GRIDCASE_OPS_CLIENT_SECRET", "gridcase-ops-local-secret")
KEYCLOAK_HEAP = os.environ.get("KEYCLOAK_HEAP_OPTS", "-Xms64m -Xmx384m")
KAFKA_HEAP = os.environ.get("KAFKA_HEAP_OPTS", "-Xms256m -Xmx768m")
NGINX_PORT = int(os.environ.get("NGINX_PORT", "8081"))
WEB = ROOT / "services" / "web"


class InfraError(RuntimeError):
    """A problem the person running the command must fix; printed without a traceback."""


def say(message: str) -> None:
    print(f"[infra] {message}", flush=True)


def run_quietly(
    command: list[str],
    *,
    cwd: Path | None = None,
    what: str,
    environment: dict[str, str] | None = None,
    stdin: str | None = None,
) -> None:
    """Runs an install step (with extra environment variables and input); shows its output
    only when it fails, and never the command, which may carry a password."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(environment or {})},
        input=stdin,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise InfraError(f"{what} failed (exit {result.returncode}): {command[0]}")


# --- installation -------------------------------------------------------------------


def install_kafka() -> None:
    pom = DEPLOY / "kafka" / "pom.xml"
    stamp = KAFKA_LIBS / ".pom"
    if stamp.exists() and stamp.read_text() == pom.read_text():
        return
    if not shutil.which("mvn"):
        raise InfraError("Maven (mvn) is needed to fetch the Kafka jars; install it first")
    say("fetching Apache Kafka jars from Maven Central ...")
    shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
    run_quietly(
        [
            "mvn",
            "-q",
            "-B",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={KAFKA_LIBS}",
        ],
        cwd=pom.parent,
        what="fetching Kafka jars",
    )
    stamp.write_text(pom.read_text())


def install_ferretdb() -> None:
    source = DEPLOY / "ferretdb"
    newest_source = max(p.stat().st_mtime for p in source.iterdir())
    if FERRETDB_BIN.exists() and FERRETDB_BIN.stat().st_mtime >= newest_source:
        return
    if not shutil.which("go"):
        raise InfraError("Go is needed to build the Mongo-wire server (FerretDB); install it first")
    say("building FerretDB (first build takes a few minutes) ...")
    BIN.mkdir(parents=True, exist_ok=True)
    run_quietly(["go", "build", "-o", str(FERRETDB_BIN), "."], cwd=source, what="building FerretDB")


def postgres_binary(name: str) -> Path | None:
    """A PostgreSQL server program from Debian's package (newest installed version)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda path: int(path.parts[-3])
    )
    return found[-1] if found else None


CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def install_debian_packages() -> None:
    missing = [
        package
        for package, present in (
            ("prometheus", shutil.which("prometheus") and shutil.which("promtool")),
            ("postgresql", postgres_binary("postgres")),
            ("nginx-light", Path("/usr/sbin/nginx").exists()),
            ("fonts-wqy-microhei", CJK_FONT.exists()),  # the statistics chart's Chinese labels
            ("chromium", shutil.which("chromium")),  # the browser tests
        )
        if not present
    ]
    if not missing:
        return
    if not shutil.which("apt-get"):
        raise InfraError(f"{', '.join(missing)} missing and apt-get is not available")
    say(f"installing {' and '.join(missing)} from Debian's packages ...")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
    ):
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
        if result.returncode != 0:
            sys.stderr.write(result.stderr[-4000:])
            raise InfraError(f"installing {' and '.join(missing)} failed: {' '.join(command)}")


def install_keycloak() -> None:
    """Fetches the Keycloak distribution (Maven Central), unpacks it and runs its build step
    once (the H2 file database, local caches), so every start can be `--optimized`."""
    pom = DEPLOY / "keycloak" / "pom.xml"
    stamp = KEYCLOAK_HOME / ".gridcase-build"
    if stamp.exists() and stamp.read_text() == pom.read_text():
        return
    if not shutil.which("mvn"):
        raise InfraError("Maven (mvn) is needed to fetch Keycloak; install it first")
    say(f"fetching Keycloak {KEYCLOAK_VERSION} from Maven Central ...")
    download = LOCAL / "keycloak-dist"
    shutil.rmtree(download, ignore_errors=True)
    run_quietly(
        [
            "mvn",
            "-q",
            "-B",
            "dependency:copy-dependencies",
            "-DexcludeTransitive=true",
            f"-DoutputDirectory={download}",
        ],
        cwd=pom.parent,
        what="fetching Keycloak",
    )
    shutil.rmtree(KEYCLOAK_HOME, ignore_errors=True)
    with tarfile.open(download / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.tar.gz") as archive:
        archive.extractall(LOCAL, filter="data")
    shutil.rmtree(download)
    say("building Keycloak's optimized server (once) ...")
    run_quietly(
        [str(KEYCLOAK_HOME / "bin" / "kc.sh"), "build", "--db=dev-file"],
        what="building Keycloak",
    )
    stamp.write_text(pom.read_text())


def install_web() -> None:
    """Builds the web apps (npm ci from the lock file, then vite build) when their sources
    changed since the last build."""
    built = WEB / "dist" / "index.html"
    sources = [WEB / "package-lock.json", WEB / "index.html", WEB / "vite.config.ts"]
    sources += [*(WEB / "src").rglob("*"), *(WEB / "public").rglob("*")]
    if built.exists() and built.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    if not shutil.which("npm"):
        raise InfraError("Node.js 20+ with npm is needed to build the web apps; install it first")
    say("building the web apps (npm ci, vite build) ...")
    lock = WEB / "node_modules" / ".package-lock.json"
    if not lock.exists() or lock.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime:
        run_quietly(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, what="installing npm packages"
        )
    run_quietly(["npm", "run", "build"], cwd=WEB, what="building the web apps")


def install_signing_keys() -> None:
    """A signing key for every producing service that has none (local use only)."""
    cli = ROOT / ".venv" / "bin" / "gridcase"
    if not cli.exists():
        raise InfraError("no .venv yet: run `make install` first")
    run_quietly(
        [str(cli), "keys", "init", "--dir", str(SIGNING), "--trusted", str(TRUSTED_KEYS)],
        what="creating local event-signing keys",
    )


def install() -> None:
    kafka_credentials()
    install_kafka()
    install_keycloak()
    install_ferretdb()
    install_debian_packages()
    install_web()
    install_signing_keys()


# --- processes ----------------------------------------------------------------------


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Component:
    name: str
    ports: list[int]
    command: Callable[[], list[str]]
    ready: Callable[[], bool]
    prepare: Callable[[], None] = lambda: None
    timeout_s: float = 90.0
    stop_signal: int = signal.SIGTERM
    requires: tuple[str, ...] = ()
    environment: dict[str, str | None] = field(default_factory=dict)
    """Added to the caller's environment; None removes a variable."""

    @property
    def pid_file(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOGS / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def reap(self) -> int | None:
        """The exit code of this component's process if it has just ended (see `reap`)."""
        try:
            return reap(int(self.pid_file.read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def start(self) -> None:
        process = self.launch()
        if process is not None:
            self.wait_ready(process)

    def process_environment(self) -> dict[str, str]:
        """The caller's environment with this component's additions and removals."""
        return {
            name: value
            for name, value in {**os.environ, **self.environment}.items()
            if value is not None
        }

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Starts the process without waiting for it to be ready (None: already running)."""
        if self.pid() is not None:
            say(f"{self.name} is already running (pid {self.pid()})")
            return None
        for port in self.ports:
            if port_open(port):
                raise InfraError(
                    f"port {port} is already in use by another process; {self.name} needs it "
                    f"(stop that process, or set another port in the environment)"
                )
        self.prepare()
        LOGS.mkdir(parents=True, exist_ok=True)
        RUN.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=self.process_environment(),
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        return process

    def wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not self.ready():
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise InfraError(
                    f"{self.name} exited with {process.returncode}; see {self.log_file}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise InfraError(
                    f"{self.name} not ready after {self.timeout_s:.0f}s; see {self.log_file}"
                )
            time.sleep(0.25)
        say(f"{self.name} ready on 127.0.0.1:{self.ports[0]} (pid {process.pid})")

    def stop(self, timeout_s: float = 30.0) -> None:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.killpg(pid, self.stop_signal)
        deadline = time.monotonic() + timeout_s
        while pid_alive(pid) and time.monotonic() < deadline:
            reap(pid)
            time.sleep(0.2)
        if pid_alive(pid):
            say(f"{self.name} did not stop in {timeout_s:.0f}s; killing it")
            os.killpg(pid, signal.SIGKILL)
            while pid_alive(pid):
                reap(pid)
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        say(f"{self.name} stopped")


def reap(pid: int) -> int | None:
    """Collects a child that exited, so that it does not linger as a zombie; its exit code
    (negative: the signal that ended it), or None while it runs or if it is not ours."""
    with contextlib.suppress(ChildProcessError):
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return os.waitstatus_to_exitcode(status)
    return None


# --- Kafka --------------------------------------------------------------------------


def kafka_java(main_class: str, *args: str) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise InfraError("Java is needed to run Kafka; install a JDK (17 or newer)")
    return [
        java,
        *KAFKA_HEAP.split(),
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={DEPLOY / 'kafka' / 'log4j2.yaml'}",
        "-cp",
        f"{KAFKA_LIBS}/*",
        main_class,
        *args,
    ]


def write_private(path: Path, text: str) -> None:
    """Writes a file only its owner may read (it holds passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)


def kafka_credentials() -> dict[str, str]:
    """The local Kafka users' passwords (the broker, the administrator, each service),
    made once at random and kept in KAFKA_CREDENTIALS; a user missing there gets one."""
    known: dict[str, str] = (
        json.loads(KAFKA_CREDENTIALS.read_text()) if KAFKA_CREDENTIALS.exists() else {}
    )
    users = (KAFKA_BROKER, KAFKA_ADMIN, *SERVICES)
    if all(user in known for user in users):
        return known
    credentials = {user: known.get(user) or secrets.token_urlsafe(24) for user in users}
    KAFKA_CREDENTIALS.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(KAFKA_CREDENTIALS, json.dumps(credentials, indent=2) + "\n")
    return credentials


def kafka_client_environment(user: str) -> dict[str, str]:
    """The KAFKA_* settings that log a client in to the local broker as `user`."""
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": kafka_credentials()[user],
    }


def kafka_password_variable(service: str) -> str:
    """Where `gridcase kafka-access` reads a service's password (INTAKE_KAFKA_PASSWORD ...)."""
    return f"{service.split('-')[0].upper()}_KAFKA_PASSWORD"


def kafka_properties(node: KafkaNode) -> Path:
    template = (DEPLOY / "kafka" / "server.properties").read_text()
    if len(KAFKA_CLUSTER) == 1:  # one node: its own quorum, formatted --standalone
        kind, quorum = "bootstrap.servers", f"127.0.0.1:{node.controller_port}"
    else:
        kind = "voters"
        quorum = ",".join(f"{n.id}@127.0.0.1:{n.controller_port}" for n in KAFKA_CLUSTER)
    values = {
        "NODE_ID": str(node.id),
        "QUORUM_KIND": kind,
        "QUORUM": quorum,
        "KAFKA_PORT": str(node.port),
        "CONTROLLER_PORT": str(node.controller_port),
        "DATA_DIR": str(node.data),
        "BROKER_PASSWORD": kafka_credentials()[KAFKA_BROKER],
        "REPLICAS": str(KAFKA_REPLICAS),
        "MIN_INSYNC": str(KAFKA_MIN_INSYNC),
    }
    for key, value in values.items():
        template = template.replace("${" + key + "}", value)
    path = RUN / f"{node.name}-server.properties"
    write_private(path, template)
    return path


def kafka_authenticates() -> bool:
    """Whether the running broker was started with SASL (a broker started before it had
    users answers plaintext)."""
    started = RUN / "kafka-server.properties"
    return started.exists() and "sasl.enabled.mechanisms" in started.read_text()


def kafka_cluster_id() -> str:
    """The id every node of the local Kafka is formatted with, made once."""
    path = DATA / "kafka-cluster.id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(uuid.uuid4()))
    return path.read_text()


def format_kafka_storage(node: KafkaNode) -> None:
    """Formats a node's log folder with the broker's and the administrator's SCRAM users.
    A folder formatted without them (before Kafka had users, with other passwords, or for
    another cluster) is formatted afresh: its topics are lost, as a local broker's may be."""
    properties = kafka_properties(node)
    data = node.data
    credentials = kafka_credentials()
    users = {user: credentials[user] for user in (KAFKA_BROKER, KAFKA_ADMIN)}
    cluster = {"cluster": kafka_cluster_id(), "nodes": len(KAFKA_CLUSTER)}
    formatted = users if len(KAFKA_CLUSTER) == 1 else {**users, **cluster}
    fingerprint = hashlib.sha256(json.dumps(formatted, sort_keys=True).encode()).hexdigest()
    stamp = DATA / f"{node.name}-users.sha256"  # beside the log folder, Kafka's alone
    if (data / "meta.properties").exists():
        if stamp.exists() and stamp.read_text() == fingerprint:
            return
        say(
            "Kafka's data was formatted without its users (before SASL/SCRAM, or with other "
            "passwords): formatting it afresh, its topics are gone"
        )
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    run_quietly(
        kafka_java(
            "kafka.tools.StorageTool",
            "format",
            *(["--standalone"] if len(KAFKA_CLUSTER) == 1 else []),
            "-t",
            kafka_cluster_id() if len(KAFKA_CLUSTER) > 1 else str(uuid.uuid4()),
            "-c",
            str(properties),
            *(
                argument
                for user, password in users.items()
                for argument in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]")
            ),
        ),
        what="formatting Kafka storage",
    )
    stamp.write_text(fingerprint)


def provision_kafka() -> None:
    """As the administrator: the topics (under GRIDCASE_TOPIC_NAMESPACE, if set), each
    service's user with its password, and its ACLs (`gridcase kafka-access`)."""
    cli = ROOT / ".venv" / "bin" / "gridcase"
    if not cli.exists():
        raise InfraError("no .venv yet: run `make install` first")
    credentials = kafka_credentials()
    run_quietly(
        [str(cli), "kafka-access"],
        environment={
            **kafka_client_environment(KAFKA_ADMIN),
            **{kafka_password_variable(service): credentials[service] for service in SERVICES},
        },
        what="granting the services their Kafka users and ACLs",
    )


def kafka_ready(node: KafkaNode) -> bool:
    log = LOGS / f"{node.name}.log"
    return (
        port_open(node.port)
        and log.exists()
        and "Kafka Server started" in log.read_text(errors="replace")[-200_000:]
    )


def as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` system user if we are root."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command]


def postgres_program(name: str) -> str:
    program = postgres_binary(name)
    if program is None:
        raise InfraError("PostgreSQL is not installed; run `infra.py install`")
    return str(program)


PG_HBA = """# Written by infra.py: logins with a password, over TCP from 127.0.0.1 only.
host all all 127.0.0.1/32 scram-sha-256
"""


def prepare_postgres() -> None:
    data = DATA / "postgres"
    if not (data / "PG_VERSION").exists():
        initialise_postgres(data)
    hba = data / "pg_hba.conf"
    if hba.read_text() != PG_HBA:  # a new cluster, or one from before logins had passwords
        admin, password = MONGO_ADMIN
        run_quietly(
            as_postgres_user(
                [postgres_program("postgres"), "--single", "-D", str(data), "postgres"]
            ),
            stdin=f"ALTER ROLE {admin} PASSWORD '{password}';\n",
            what="setting PostgreSQL's administrator password",
        )
        hba.write_text(PG_HBA)


def initialise_postgres(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    data.chmod(0o700)
    run_quietly(
        as_postgres_user(
            [
                postgres_program("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-instructions",
            ]
        ),
        what="initialising PostgreSQL",
    )


def prepare_ferretdb() -> None:
    """Lets PostgreSQL serve FerretDB's lookups from indexes, and gives each service its
    role (see the SQL files)."""
    roles = [
        f"CALL gridcase_service_role('{role}', '{password}', '{database}')"
        for role, password, database in MONGO_ROLES.values()
    ]
    admin, password = MONGO_ADMIN
    run_quietly(
        [
            postgres_program("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(POSTGRES_PORT),
            "-U",
            admin,
            "-d",
            "postgres",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            str(DEPLOY / "ferretdb" / "postgresql-indexes.sql"),
            "-f",
            str(DEPLOY / "ferretdb" / "postgresql-roles.sql"),
            *(argument for call in roles for argument in ("-c", call)),
        ],
        environment={"PGPASSWORD": password},
        what="preparing PostgreSQL for FerretDB",
    )


def postgres_ready() -> bool:
    ready = subprocess.run(
        [postgres_program("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(POSTGRES_PORT)],
        check=False,
    )
    return ready.returncode == 0


def ferretdb_ready() -> bool:
    return port_open(MONGO_PORT)


def prometheus_ready() -> bool:
    return http_ok(f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready")


def keycloak_ready() -> bool:
    return http_ok(f"{KEYCLOAK_URL}/realms/gridcase/.well-known/openid-configuration")


def prepare_keycloak() -> None:
    """Puts the realm and its demo users where `--import-realm` reads them. They are
    imported into an empty database only, so a changed file starts Keycloak from a fresh
    database."""
    imports = KEYCLOAK_HOME / "data" / "import"
    imports.mkdir(parents=True, exist_ok=True)
    data = DATA / "keycloak"
    files = (KEYCLOAK_REALM, KEYCLOAK_DEMO_USERS)
    if data.exists() and not all(same_bytes(f, data / f.name) for f in files):
        say("the realm changed; Keycloak starts from a fresh database")
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    for source in files:
        shutil.copyfile(source, imports / source.name)
        shutil.copyfile(source, data / source.name)
    truncate_log("keycloak")()


def same_bytes(source: Path, copy: Path) -> bool:
    return copy.exists() and copy.read_bytes() == source.read_bytes()


def keycloak_command() -> list[str]:
    return [
        str(KEYCLOAK_HOME / "bin" / "kc.sh"),
        "start",
        "--optimized",
        "--cache=local",
        "--http-enabled=true",
        "--http-host=127.0.0.1",
        f"--http-port={KEYCLOAK_PORT}",
        f"--hostname={KEYCLOAK_URL}",
        f"--db-url=jdbc:h2:file:{DATA / 'keycloak' / 'keycloakdb'};NON_KEYWORDS=VALUE",
        "--import-realm",
    ]


def write_prometheus_config() -> None:
    """deploy/prometheus/prometheus.yml with the services' ports of this environment."""
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    for default, port in zip((8001, 8002, 8003, 8004), SERVICES.values(), strict=True):
        config = config.replace(f"127.0.0.1:{default}", f"127.0.0.1:{port}")
    config = config.replace("- alerts.yml", f"- {DEPLOY / 'prometheus' / 'alerts.yml'}")
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / "prometheus.yml").write_text(config)


def nginx_config() -> Path:
    """nginx's configuration for this checkout's ports and folders, and the web apps'
    runtime settings (config.json)."""
    values = {
        "USER_LINE": "user root;" if os.geteuid() == 0 else "",
        "RUN": str(RUN),
        "MIME_TYPES": "/etc/nginx/mime.types",
        "NGINX_PORT": str(NGINX_PORT),
        "WEB_ROOT": str(WEB / "dist"),
        "SITE_CONF": str(DEPLOY / "nginx" / "site.conf"),
        "PROXY_CONF": str(DEPLOY / "nginx" / "proxy.conf"),
        **{f"{name.split('-')[0].upper()}_PORT": str(port) for name, port in SERVICES.items()},
    }
    text = (DEPLOY / "nginx" / "gridcase.conf.template").read_text()
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    (RUN / "nginx").mkdir(parents=True, exist_ok=True)
    (RUN / "web-config.json").write_text(json.dumps(web_settings(), indent=2))
    path = RUN / "nginx.conf"
    path.write_text(text)
    return path


def web_settings() -> dict[str, object]:
    """The web apps' settings for a local run: people sign in at the local Keycloak, and
    developers may also use a token that `gridcase token` minted; maps draw the district
    boundaries without tiles unless GRIDCASE_TILE_URL names a tile server."""
    return {
        "oidcIssuer": f"{KEYCLOAK_URL}/realms/gridcase",
        "oidcClientId": "gridcase-web",
        "tileUrl": os.environ.get("GRIDCASE_TILE_URL", ""),
        "tileAttribution": "",
        "boundariesUrl": "/api/intake/v1/boundaries",
        "devTokens": True,
        "refreshSeconds": 5,
    }


def truncate_log(name: str) -> Callable[[], None]:
    def prepare() -> None:
        (LOGS / f"{name}.log").unlink(missing_ok=True)

    return prepare


def kafka_component(node: KafkaNode) -> Component:
    """A node of the local Kafka; a node of a cluster brings the others along."""

    def prepare() -> None:
        truncate_log(node.name)()
        format_kafka_storage(node)

    return Component(
        name=node.name,
        ports=[node.port, node.controller_port],
        prepare=prepare,
        command=lambda: kafka_java("kafka.Kafka", str(kafka_properties(node))),
        ready=partial(kafka_ready, node),
        timeout_s=120,
        requires=tuple(other.name for other in KAFKA_CLUSTER if other != node),
    )


def components() -> list[Component]:
    return [
        *(kafka_component(node) for node in KAFKA_CLUSTER),
        Component(
            name="postgres",
            ports=[POSTGRES_PORT],
            prepare=prepare_postgres,
            command=lambda: as_postgres_user(
                [
                    postgres_program("postgres"),
                    "-D",
                    str(DATA / "postgres"),
                    "-p",
                    str(POSTGRES_PORT),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=",
                    "-c",  # FerretDB pools up to 50 per role: the administrator and three
                    "max_connections=250",  # services fill 200, so more are left for psql
                    "-c",
                    "shared_buffers=128MB",
                    "-c",  # FerretDB's filters name the field in a bind parameter
                    "plan_cache_mode=force_custom_plan",
                ]
            ),
            ready=postgres_ready,
            stop_signal=signal.SIGINT,  # fast shutdown; SIGTERM waits for every client
        ),
        Component(
            name="ferretdb",
            ports=[MONGO_PORT],
            requires=("postgres",),
            command=lambda: [
                str(FERRETDB_BIN),
                "-listen",
                f"127.0.0.1:{MONGO_PORT}",
                "-postgresql-url",
                "postgres://{}:{}@127.0.0.1:{}/postgres".format(*MONGO_ADMIN, POSTGRES_PORT),
                "-run",
                str(RUN),
            ],
            prepare=prepare_ferretdb,
            ready=ferretdb_ready,
        ),
        Component(
            name="prometheus",
            ports=[PROMETHEUS_PORT],
            command=lambda: [
                "prometheus",
                f"--config.file={RUN / 'prometheus.yml'}",
                f"--storage.tsdb.path={DATA / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                "--storage.tsdb.retention.time=7d",
                "--web.enable-lifecycle",
            ],
            prepare=write_prometheus_config,
            ready=prometheus_ready,
        ),
        Component(
            name="keycloak",
            ports=[KEYCLOAK_PORT],
            prepare=prepare_keycloak,
            command=keycloak_command,
            ready=keycloak_ready,
            timeout_s=300,  # the first start creates its database and imports the realm
            environment={
                "JAVA_OPTS_KC_HEAP": KEYCLOAK_HEAP,
                # the administration console's own account (master realm), local only
                "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
                "KC_BOOTSTRAP_ADMIN_PASSWORD": "admin",
                # the web apps' origins, where sign-in may return (the realm's gridcase-web)
                "GRIDCASE_WEB_URL": f"http://127.0.0.1:{NGINX_PORT}",
                "GRIDCASE_WEB_URL_ALIAS": f"http://localhost:{NGINX_PORT}",
            },
        ),
    ]


def nginx_component() -> Component:
    return Component(
        name="nginx",
        ports=[NGINX_PORT],
        command=lambda: [
            "/usr/sbin/nginx",
            "-p",
            str(RUN / "nginx"),
            "-c",
            str(nginx_config()),
            "-e",
            "stderr",
            "-g",
            "daemon off;",
        ],
        ready=partial(http_ok, f"http://127.0.0.1:{NGINX_PORT}/"),
        stop_signal=signal.SIGQUIT,  # graceful: finish the requests in flight
    )


SERVICES = {
    "intake": int(os.environ.get("INTAKE_PORT", "8001")),
    "assignment": int(os.environ.get("ASSIGNMENT_PORT", "8002")),
    "remediation-tracking": int(os.environ.get("REMEDIATION_PORT", "8003")),
    "statistics": int(os.environ.get("STATISTICS_PORT", "8004")),
}
SERVICE_COMMANDS = {
    "intake": "gridcase-intake",
    "assignment": "gridcase-assignment",
    "remediation-tracking": "gridcase-remediation",
    "statistics": "gridcase-statistics",
}


def service_components() -> list[Component]:
    """The four gridcase services, run from the virtual environment with the caller's
    environment (so tests can point them at their own topics and databases), each with its
    own Kafka user and Mongo-wire credentials (statistics keeps no data there, so it has
    none)."""
    return [
        Component(
            name=name,
            ports=[port],
            command=partial(
                lambda name: [str(ROOT / ".venv" / "bin" / SERVICE_COMMANDS[name])], name
            ),
            ready=partial(http_ok, f"http://127.0.0.1:{port}/readyz"),
            timeout_s=120,
            environment={
                **kafka_client_environment(name),
                "MONGODB_URL": mongo_url(*MONGO_ROLES[name][:2]) if name in MONGO_ROLES else None,
            },
        )
        for name, port in SERVICES.items()
    ]


def service_environment(name: str) -> dict[str, str]:
    """The environment `up` starts the named service with."""
    return next(c for c in service_components() if c.name == name).process_environment()


def selected(names: list[str]) -> list[Component]:
    """The named components; no names means the infrastructure without the services."""
    everything = components() + service_components() + [nginx_component()]
    if not names:
        return components()
    if names == ["all"]:
        return everything
    wanted = set(names)
    for component in everything:
        if component.name in wanted:
            wanted.update(component.requires)
    chosen = [c for c in everything if c.name in wanted]
    unknown = set(names) - {c.name for c in chosen}
    if unknown:
        raise InfraError(f"unknown component(s): {', '.join(sorted(unknown))}")
    return chosen


def up(names: list[str]) -> None:
    install()
    chosen = selected(names)
    if any(c.name == "ferretdb" and c.pid() is not None for c in chosen):
        prepare_ferretdb()  # a running server's PostgreSQL gets the roles added since it started
    for component in chosen:
        if component.name == "kafka" and component.pid() is not None and not kafka_authenticates():
            say("the running Kafka has no users yet; restarting it with SASL/SCRAM and ACLs")
            component.stop()
    if all(c.pid() is not None for c in chosen):
        say("already up; nothing to do")
        return
    # Keycloak takes the longest to start and needs nothing else: it boots meanwhile. A
    # cluster's nodes start together: each waits for a majority of controllers.
    early = [(c, c.launch()) for c in chosen if c.name == "keycloak"]
    together = [c for c in chosen if c.name in KAFKA_NODE_NAMES]
    for component, process in [(c, c.launch()) for c in together]:
        if process is not None:
            component.wait_ready(process)
    provisioned = False
    for component in chosen:
        if component.name in SERVICES and component.pid() is None and not provisioned:
            provision_kafka()  # once Kafka runs: the services' users, topics and ACLs
            provisioned = True
        if component.name != "keycloak" and component not in together:
            component.start()
    for component, process in early:
        if process is not None:
            component.wait_ready(process)


def down(names: list[str]) -> None:
    """Stops the named components; no names stops everything, services first."""
    chosen = selected(names) if names else components() + service_components() + [nginx_component()]
    for component in reversed(chosen):
        component.stop()


def reset() -> None:
    down([])
    shutil.rmtree(DATA, ignore_errors=True)
    shutil.rmtree(LOGS, ignore_errors=True)
    say("data and logs wiped")


def status() -> None:
    for component in components() + service_components() + [nginx_component()]:
        pid = component.pid()
        state = f"running (pid {pid})" if pid else "stopped"
        say(f"{component.name:<21} {state:<22} port {component.ports[0]}")


def post_json(url: str, body: object, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.load(response)
        return answer


def demo_api_key() -> str:
    """A fresh Open311 api key from intake's admin API, asked for with the token of the
    realm's operations service account."""
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": "gridcase-ops",
            "client_secret": os.environ["GRIDCASE_OPS_CLIENT_SECRET"],
        }
    ).encode()
    token_url = f"{KEYCLOAK_URL}/realms/gridcase/protocol/openid-connect/token"
    with urllib.request.urlopen(token_url, data=form, timeout=30) as response:
        token = json.load(response)["access_token"]
    issued = post_json(
        f"http://127.0.0.1:{SERVICES['intake']}/v1/admin/api-keys",
        {"name": "demo-app"},
        {"Authorization": f"Bearer {token}"},
    )
    return str(issued["api_key"])


def banner() -> str:
    urls = "\n".join(
        f"  {name:<21} http://127.0.0.1:{port}  (API docs: /docs, metrics: /metrics)"
        for name, port in SERVICES.items()
    )
    return f"""
gridcase is running.
  web apps              http://127.0.0.1:{NGINX_PORT}  (the services under /api/<name>/)
{urls}
  prometheus            http://127.0.0.1:{PROMETHEUS_PORT}
  keycloak              {KEYCLOAK_URL}  (realm gridcase; administration console: admin / admin)
  kafka                 127.0.0.1:{KAFKA_PORT}  (SASL/SCRAM; logins: infra.py kafka-env [USER])
  mongo-wire            {mongo_url(*MONGO_ADMIN)}

Demo Open311 api_key (shown once):  {demo_api_key()}
Sign in at {KEYCLOAK_URL}/realms/gridcase/account as a demo user:
  volunteer    v-001 ... v-020 (teams team-01 ... team-20)             password demo-volunteer
  handler      h-housing-1, h-police-1, h-urban-1, ... (two per department) password demo-handler
  supervisor   s-demo-1, s-demo-2                                      password demo-supervisor
  admin        a-demo-1                                                password demo-admin
Tokens from Keycloak (Authorization: Bearer ...):
  .venv/bin/gridcase token --user v-001 --password demo-volunteer
  .venv/bin/gridcase token --user h-housing-1 --password demo-handler
  .venv/bin/gridcase token --user s-demo-1 --password demo-supervisor
  .venv/bin/gridcase token --user a-demo-1 --password demo-admin
  .venv/bin/gridcase token --client gridcase-ops --client-secret gridcase-ops-local-secret
Feed a month of demo cases:  make demo      Logs: {LOGS}
Press Ctrl-C to stop everything.
"""


RESTART_DELAYS_S = (1, 2, 4, 8, 16, 30)
"""Waits before restarting a component that keeps dying, as compose's restart policy."""
STABLE_AFTER_S = 60.0
"""A component that ran this long before dying starts again from the shortest wait."""


def supervise(everything: list[Component], stop_requested: Callable[[], bool]) -> None:
    """Restarts each component that dies, after 1 s, then 2, 4 ... up to 30 s while it
    keeps dying, and logs each death and restart, until `stop_requested()`."""
    started = dict.fromkeys((c.name for c in everything), time.monotonic())
    deaths = dict.fromkeys(started, 0)
    restart_at: dict[str, float] = {}
    while not stop_requested():
        for component in everything:
            exit_code = component.reap()
            if component.pid() is not None:
                continue
            now = time.monotonic()
            if component.name not in restart_at:
                if now - started[component.name] >= STABLE_AFTER_S:
                    deaths[component.name] = 0
                delay = RESTART_DELAYS_S[min(deaths[component.name], len(RESTART_DELAYS_S) - 1)]
                deaths[component.name] += 1
                restart_at[component.name] = now + delay
                how = "" if exit_code is None else f" (exit {exit_code})"
                say(f"{component.name} died{how}; restarting in {delay}s")
            elif now >= restart_at[component.name]:
                del restart_at[component.name]
                started[component.name] = now
                try:
                    component.start()
                except InfraError as error:
                    say(f"{component.name} did not restart: {error}")
        time.sleep(0.5)


def run_foreground() -> int:
    """Starts the infrastructure and the four services, restarts any that dies, and stops
    all of them on Ctrl-C."""
    stop_requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    everything = components() + service_components() + [nginx_component()]
    exit_code = 0
    try:
        up(["all"])
        print(banner(), flush=True)
        supervise(everything, lambda: stop_requested)
    except InfraError as error:
        print(f"[infra] error: {error}", file=sys.stderr)
        exit_code = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        down([])
    return exit_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install")
    for name in ("up", "down"):
        sub.add_parser(name).add_argument("components", nargs="*")
    sub.add_parser("reset")
    sub.add_parser("status")
    sub.add_parser("run")
    sub.add_parser("mongo-url").add_argument("service", nargs="?", choices=sorted(MONGO_ROLES))
    sub.add_parser("service-env").add_argument("service", choices=sorted(SERVICES))
    sub.add_parser("kafka-env").add_argument(
        "user", nargs="?", default=KAFKA_ADMIN, choices=[KAFKA_ADMIN, *SERVICES]
    )
    args = parser.parse_args()
    try:
        if args.command == "install":
            install()
        elif args.command == "up":
            up(args.components)
        elif args.command == "down":
            down(args.components)
        elif args.command == "reset":
            reset()
        elif args.command == "status":
            status()
        elif args.command == "run":
            return run_foreground()
        elif args.command == "mongo-url":
            print(mongo_url(*(MONGO_ROLES[args.service][:2] if args.service else MONGO_ADMIN)))
        elif args.command == "service-env":
            print(json.dumps(service_environment(args.service)))
        elif args.command == "kafka-env":
            print(json.dumps(kafka_client_environment(args.user)))
    except InfraError as error:
        print(f"[infra] error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
