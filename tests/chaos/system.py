"""The four services as processes of the suite's own, on free ports, with their own topics
and databases: started, killed (SIGKILL), stopped (SIGTERM) and started again while the
workload runs, and more consumer instances added to a group and taken away. A process
that ends on its own is started again, as `make up` and an orchestrator would."""

import contextlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from kafka import KafkaAdminClient, OffsetSpec, TopicPartition
from kafka.errors import KafkaError
from private_servers import free_port

from gridcase_runtime.kafka_security import KafkaSecurity

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "intake": "gridcase-intake",
    "assignment": "gridcase-assignment",
    "remediation-tracking": "gridcase-remediation",
    "statistics": "gridcase-statistics",
}
PREFIXES = {
    "intake": "INTAKE",
    "assignment": "ASSIGNMENT",
    "remediation-tracking": "REMEDIATION",
    "statistics": "STATISTICS",
}
DATABASES = ("intake", "assignment", "remediation-tracking")
STARTUP_S = 300
"""A process's start, imports included, takes minutes on a host busy with other work."""


@dataclass
class Instance:
    """One running process of a service."""

    service: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    redelivered: float = 0.0
    """Redeliveries this process counted, as last read from its metrics."""
    ready: bool = False
    """Started and ready: from then on, ending on its own makes it start again."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class System:
    """The services of one scenario: topics under `namespace`, databases named after it."""

    namespace: str
    bootstrap: str
    mongo_url: str
    logs: Path
    environment: dict[str, str] = field(default_factory=dict)
    """More variables for every process (a fault point, shorter timeouts)."""
    instances: dict[str, list[Instance]] = field(default_factory=dict)
    ended: list[Instance] = field(default_factory=list)
    """Processes killed or stopped, with what they counted."""
    revived: list[str] = field(default_factory=list)
    """The processes that ended on their own and were started again, with their status."""
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False)
    _closing: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        threading.Thread(target=self._keep, name=f"keep-{self.namespace}", daemon=True).start()

    def _keep(self) -> None:
        """Starts again, on its port, each process that ended without being told to."""
        while not self._closing.wait(0.5):
            with self._lock:
                died = [i for i in self.running() if i.ready and i.process.poll() is not None]
                for instance in died:
                    self._ended(instance)
            for instance in died:
                what = f"{instance.service} exited with {instance.process.returncode}"
                print(f"  {what}; starting it again")
                self.revived.append(what)
                try:
                    self.start(instance.service, port=instance.port)
                except RuntimeError as error:
                    print(f"  {instance.service} did not start again: {error}")

    def database(self, service: str) -> str:
        return f"{self.namespace.replace('-', '_')}_{service.split('-')[0]}"

    def _environment(self, service: str, port: int, extra: dict[str, str]) -> dict[str, str]:
        prefix = PREFIXES[service]
        return {
            **os.environ,
            "GRIDCASE_ENV": "test",
            "GRIDCASE_TOPIC_NAMESPACE": self.namespace,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "MONGODB_URL": self.mongo_url,
            **{f"{PREFIXES[s]}_MONGODB_DATABASE": self.database(s) for s in DATABASES},
            f"{prefix}_PORT": str(port),
            "INTAKE_REPORTS_PER_MINUTE": "100000",
            "INTAKE_FALLBACK_DISTRICT": "D01",
            "INTAKE_PUBLISH_TIMEOUT_S": "3",
            "STATISTICS_SESSION_TIMEOUT_S": "10",
            "STATISTICS_DATA_DIR": str(self.logs / f"statistics-{port}"),
            **self.environment,
            **extra,
        }

    def _launch(self, service: str, port: int, extra: dict[str, str]) -> Instance:
        log = self.logs / f"{service}-{port}.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / COMMANDS[service])],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._environment(service, port, extra),
                cwd=ROOT,
            )
        return Instance(service, port, process, log)

    def start(self, service: str, *, port: int | None = None, **extra: str) -> Instance:
        """A new process of `service` (on `port`, or a free one), once it is ready."""
        with self._lock:
            if self._closing.is_set():
                raise RuntimeError(f"{service} not started: the system is stopping")
            instance = self._launch(service, port or free_port(), extra)
            self.instances.setdefault(service, []).append(instance)
        launched = time.monotonic()
        deadline = launched + STARTUP_S
        while not _ready(instance.url):
            if instance.process.poll() is not None:
                raise RuntimeError(
                    f"{service} exited with {instance.process.returncode}; see {instance.log}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service} not ready after {STARTUP_S} s; see {instance.log}")
            time.sleep(0.25)
        instance.ready = True
        print(
            f"  {service} ready in {time.monotonic() - launched:.1f} s, "
            f"{cpu_seconds(instance.process.pid):.1f} s of CPU (load {load():.1f})"
        )
        return instance

    def crash_at(self, service: str, point: str, timeout_s: float = 120) -> int:
        """`service` stopped and started again with the fault point `point` switched on
        until it dies there, then started as usual; the exit code it died with."""
        port = self.instances[service][0].port
        self.terminate(self.instances[service][0])
        doomed = self._launch(service, port, {"GRIDCASE_FAULT_POINT": point})
        code = doomed.process.wait(timeout_s)
        self.ended.append(doomed)
        self.start(service, port=port)
        return code

    def url(self, service: str) -> str:
        return self.instances[service][0].url

    def kill(self, instance: Instance) -> None:
        """SIGKILL, as a crash would, with what it counted read just before."""
        with self._lock:
            self._count(instance)
            instance.process.kill()
            instance.process.wait()
            self._ended(instance)

    def terminate(self, instance: Instance, timeout_s: float = 60) -> int:
        """SIGTERM; its exit code once it has shut down."""
        with self._lock:
            self._count(instance)
            instance.process.terminate()
            code = instance.process.wait(timeout_s)
            self._ended(instance)
            return code

    def restart(self, instance: Instance, *, crash: bool = True) -> Instance:
        """The instance killed (or stopped) and started again on its port."""
        if crash:
            self.kill(instance)
        else:
            self.terminate(instance)
        return self.start(instance.service, port=instance.port)

    def _ended(self, instance: Instance) -> None:
        self.instances[instance.service].remove(instance)
        self.ended.append(instance)

    def _count(self, instance: Instance) -> None:
        with contextlib.suppress(httpx.HTTPError):
            instance.redelivered = redeliveries(httpx.get(f"{instance.url}/metrics").text)

    def redelivered(self, service: str) -> float:
        """Redeliveries counted by every process of `service`, ended or running."""
        for instance in self.instances.get(service, []):
            self._count(instance)
        return sum(i.redelivered for i in self.running() if i.service == service) + sum(
            i.redelivered for i in self.ended if i.service == service
        )

    def running(self) -> Iterator[Instance]:
        for instances in self.instances.values():
            yield from instances

    def stop(self) -> None:
        self._closing.set()
        with self._lock:
            self._stop_all()

    def _stop_all(self) -> None:
        for instance in list(self.running()):
            instance.process.terminate()
        for instance in list(self.running()):
            try:
                instance.process.wait(30)
            except subprocess.TimeoutExpired:
                instance.process.kill()
                instance.process.wait()


class GroupWatch:
    """A consumer group seen from outside, as often as asked: the members that hold its
    partitions, what it committed and where its topic ends."""

    def __init__(self, bootstrap: str, group: str, topic: str, partitions: int) -> None:
        self.group = group
        self.partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self.admin = KafkaAdminClient(
            **KafkaSecurity().client_config(), bootstrap_servers=bootstrap
        )

    def members(self) -> frozenset[str]:
        """The members once the group is stable; none while it rebalances (or while its
        coordinator moves or loads)."""
        try:
            described = self.admin.describe_groups([self.group])[self.group]
        except KafkaError as error:
            if not error.retriable:
                raise
            return frozenset()
        if described["group_state"] != "Stable":
            return frozenset()
        return frozenset(member["member_id"] for member in described["members"])

    def ends(self) -> dict[TopicPartition, int]:
        found = self.admin.list_partition_offsets(dict.fromkeys(self.partitions, OffsetSpec.LATEST))
        return {partition: found[partition].offset for partition in self.partitions}

    def reached(self, target: dict[TopicPartition, int]) -> bool:
        """Whether the group has committed every partition up to `target`."""
        committed = self.admin.list_group_offsets({self.group: self.partitions})[self.group]
        return all(
            partition in committed and committed[partition].offset >= end
            for partition, end in target.items()
        )

    def close(self) -> None:
        self.admin.close()


REDELIVERED = re.compile(
    r"^gridcase_(?:events_redelivered_total\{[^}]*\}|statistics_redeliveries_total) (\S+)$",
    re.MULTILINE,
)


def redeliveries(metrics: str) -> float:
    """The redeliveries a process counted, from its /metrics."""
    return sum(float(value) for value in REDELIVERED.findall(metrics))


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> float:
    """The host's load average over the last minute."""
    return os.getloadavg()[0]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
