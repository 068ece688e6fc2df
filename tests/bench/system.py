"""The running system under test: the four services started by the local runner on their own
topic namespace and databases, their pids and memory, their /metrics, and the consumer
groups' lag read from Kafka (committed group offsets against partition end offsets)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from gridcase_contracts.codes import Service as GridcaseService
from gridcase_contracts.topics import CASE_EVENTS, TopicSpec, namespaced
from gridcase_runtime.kafka_access import CONSUMER_GROUPS
from tests.bench.baselines import encoded_reports, producer_settings
from tests.bench.httpload import MAX_LATENCY_US, new_histogram
from tests.kafka_login import client_settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "deploy" / "local" / "infra.py"
RUN = Path(os.environ.get("GRIDCASE_INFRA_STATE", ROOT / ".local")) / "run"


@dataclass(frozen=True)
class Service:
    name: str
    """The local runner's component name."""
    port: int
    env_prefix: str
    short_name: str

    @property
    def consumer_group(self) -> str:
        return CONSUMER_GROUPS[GridcaseService(self.name)]


SERVICES = tuple(
    Service(name, int(os.environ.get(f"{prefix}PORT", port)), prefix, short)
    for name, port, prefix, short in (
        ("intake", 8001, "INTAKE_", "intake"),
        ("assignment", 8002, "ASSIGNMENT_", "assignment"),
        ("remediation-tracking", 8003, "REMEDIATION_", "remediation"),
        ("statistics", 8004, "STATISTICS_", "statistics"),
    )
)
CONSUMERS = SERVICES
"""Every service consumes the case events (intake keeps its read model from them)."""


class System:
    """The four services on topic namespace `namespace`, each with its own database and its
    consumer group under the namespace (so nothing else on the broker joins or disturbs
    them), logged in to Kafka as its own user (the local runner grants the namespace)."""

    def __init__(self, namespace: str, bootstrap: str) -> None:
        self.namespace = namespace
        self.bootstrap = bootstrap
        self.topic: TopicSpec = CASE_EVENTS.namespaced(namespace)
        self.database_prefix = namespace.replace("-", "_")

    def group(self, service: Service) -> str:
        return namespaced(service.consumer_group, self.namespace)

    def database(self, service: Service) -> str:
        return f"{self.database_prefix}_{service.short_name}"

    def environment(self) -> dict[str, str]:
        # a crowd of reports from the realm's twenty demo volunteers: no per-person limit
        env = {
            **os.environ,
            "GRIDCASE_TOPIC_NAMESPACE": self.namespace,
            "INTAKE_REPORTS_PER_MINUTE": "1000000",
        }
        for service in SERVICES:
            env[f"{service.env_prefix}MONGODB_DATABASE"] = self.database(service)
        return env

    def infra(self, command: str, *names: str) -> None:
        subprocess.run(
            [sys.executable, str(INFRA), command, *names],
            cwd=ROOT,
            env=self.environment(),
            check=True,
        )

    def start(self) -> None:
        running = [s.name for s in SERVICES if pid_of(s) is not None]
        taken = [str(s.port) for s in SERVICES if port_open(s.port)]
        if running or taken:
            raise RuntimeError(
                "the benchmark starts the services itself, on their own topics and databases; "
                f"stop the running ones first (running: {running or '-'}, ports in use: "
                f"{taken or '-'}): python3 deploy/local/infra.py down "
                + " ".join(s.name for s in SERVICES)
            )
        self.infra("up", "kafka", "ferretdb")
        self.infra("up", *(s.name for s in SERVICES))

    def start_one(self, service: Service) -> None:
        self.infra("up", service.name)

    def stop(self, *services: Service) -> None:
        self.infra("down", *(s.name for s in services or SERVICES))

    def service_environment(self, service: Service) -> dict[str, str]:
        """The environment `infra.py up` would start the service with, in this namespace."""
        answer = subprocess.run(
            [sys.executable, str(INFRA), "service-env", service.name],
            cwd=ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        environment: dict[str, str] = json.loads(answer.stdout)
        return environment


def local_mongo_url() -> str:
    """The local Mongo-wire server's URL with the administrator's credentials."""
    return subprocess.run(
        [sys.executable, str(INFRA), "mongo-url"], capture_output=True, text=True, check=True
    ).stdout.strip()


def publish_reports(system: System, first: int, count: int) -> None:
    """Publishes `count` CaseReported events as intake would (ingest header included),
    with the publisher's settings, and waits for every acknowledgement."""
    producer = KafkaProducer(**producer_settings(system.bootstrap, system.topic))
    try:
        for key, value, headers in encoded_reports(count, first):
            producer.send(system.topic.name, key=key, value=value, headers=headers)
        producer.flush(timeout=60)
    finally:
        producer.close()


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def pid_of(service: Service) -> int | None:
    return running_pid(service.name)


def running_pid(component: str) -> int | None:
    """The pid of a component the local runner started, if it is running."""
    try:
        pid = int((RUN / f"{component}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def memory_mb(pid: int) -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of `pid`, in MiB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            figures[name] = int(value.split()[0]) / 1024
    return figures


def service_memory() -> dict[str, dict[str, float]]:
    memory = {}
    for service in SERVICES:
        pid = pid_of(service)
        if pid is not None:
            memory[service.name] = {"pid": pid, **memory_mb(pid)}
    return memory


# --- CPU time ---------------------------------------------------------------------------

INFRASTRUCTURE = ("kafka", "postgres", "ferretdb")
"""The local runner's components whose CPU the benchmark counts beside the services'."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_cpu_s(pid: int, children: dict[int, list[int]]) -> float:
    """CPU seconds (user + system) of `pid` and every descendant, those that ended and were
    waited for included (PostgreSQL's backends are children of its postmaster)."""
    ticks = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        fields = _stat_fields(current)
        if fields is None:
            continue
        # after the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based
        ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
        pending.extend(children.get(current, []))
    return ticks / CLOCK_TICKS


def cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of each running service and of Kafka, PostgreSQL and the
    Mongo-wire server (their process trees, from /proc)."""
    children = _children()
    figures: dict[str, float] = {}
    for name in (*(s.name for s in SERVICES), *INFRASTRUCTURE):
        pid = running_pid(name)
        if pid is not None:
            figures[name] = tree_cpu_s(pid, children)
    return figures


# --- exact end-to-end latencies ------------------------------------------------------


def end_to_end_latencies(since_ns: int) -> dict[str, HdrHistogram]:
    """Per consumer, an HDR histogram (µs) of the exact end-to-end latencies (intake's
    accept -> the consumer's acknowledged write) of the events accepted since `since_ns`,
    from each service's /metrics/end-to-end."""
    histograms: dict[str, HdrHistogram] = {}
    for service in CONSUMERS:
        url = f"http://127.0.0.1:{service.port}/metrics/end-to-end?since_ns={since_ns}"
        with urllib.request.urlopen(url, timeout=10) as response:
            latencies = json.loads(response.read())["latencies_us"]
        histogram = new_histogram()
        for micros in latencies:
            histogram.record_value(min(max(1, micros), MAX_LATENCY_US))
        histograms[service.name] = histogram
    return histograms


# --- Mongo commands -------------------------------------------------------------------


def mongo_commands() -> dict[str, dict[str, float]]:
    """Per service, the MongoDB commands it has sent so far by command name (from the
    gridcase_mongo_commands_total counter of its /metrics)."""
    counts: dict[str, dict[str, float]] = {}
    for service in SERVICES:
        url = f"http://127.0.0.1:{service.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        commands: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            if family.name == "gridcase_mongo_commands":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        command = sample.labels["command"]
                        commands[command] = commands.get(command, 0.0) + sample.value
        counts[service.name] = commands
    return counts


# --- Kafka lag ------------------------------------------------------------------------


class LagProbe:
    """Committed offsets of each consumer group against the end of every partition."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.admin = KafkaAdminClient(**client_settings(system.bootstrap, client_id="bench-lag"))
        self.offsets = KafkaConsumer(**client_settings(system.bootstrap, client_id="bench-lag"))
        self.partitions = [
            TopicPartition(system.topic.name, p) for p in range(system.topic.partitions)
        ]
        self.groups = {service.name: system.group(service) for service in CONSUMERS}

    def sample(self) -> dict[str, Any]:
        """{"at": monotonic time, "end": total end offset, "committed": {service: total},
        "lag": {service: records behind}}."""
        at = time.monotonic()
        ends = self.offsets.end_offsets(self.partitions)
        end = sum(ends.values())
        committed_by_group = self.admin.list_group_offsets(list(self.groups.values()))
        committed: dict[str, int] = {}
        lag: dict[str, int] = {}
        for service, group in self.groups.items():
            offsets = committed_by_group.get(group, {})
            total = 0
            for partition in self.partitions:
                meta = offsets.get(partition)
                total += meta.offset if meta is not None and meta.offset >= 0 else 0
            committed[service] = total
            lag[service] = max(0, end - total)
        return {"at": at, "end": end, "committed": committed, "lag": lag}

    def wait_until_drained(
        self, timeout_s: float, samples: list[dict[str, Any]], *, ignore: str | None = None
    ) -> float | None:
        """Seconds until every group (but `ignore`) has caught up (lag 0 on two samples in a
        row, so that events the consumers emit while catching up count too); None after
        `timeout_s`."""
        started = time.monotonic()
        zero_since: float | None = None
        while True:
            sample = self.sample()
            samples.append(sample)
            if not any(lag for service, lag in sample["lag"].items() if service != ignore):
                if zero_since is not None:
                    return zero_since - started
                zero_since = sample["at"]
            else:
                zero_since = None
            if time.monotonic() - started > timeout_s:
                return None
            time.sleep(0.25)

    def follow_catch_up(
        self, service: str, before: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        """Follows `service`'s committed offsets, from the first commit after the sample
        `before` until its lag is 0: the events it committed per second over that span
        (its first batch, which includes joining the group, does not count)."""
        deadline = time.monotonic() + timeout_s
        first: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            sample = self.sample()
            if first is None and sample["committed"][service] > before["committed"][service]:
                first = sample
            elif first is not None and sample["lag"][service] == 0:
                events = sample["committed"][service] - first["committed"][service]
                seconds = sample["at"] - first["at"]
                return {
                    "events": events,
                    "seconds": round(seconds, 2),
                    "events_per_s": round(events / seconds, 1) if events else None,
                }
            time.sleep(0.25)
        return {"events_per_s": None, "caught_up": False}

    def close(self) -> None:
        self.admin.close()
        self.offsets.close()
