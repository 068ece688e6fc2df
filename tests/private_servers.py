"""Servers of a test's own, started by the local runner on free ports and a state folder
of their own, so a test can kill, stall and restart them without touching the shared
ones: a Kafka broker, a cluster of three, and the Mongo-wire server with its PostgreSQL."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "deploy" / "local" / "infra.py"


def fresh_state_dir() -> Path:
    """A new state folder under .local/: PostgreSQL, run as its own system user, can
    reach it (pytest's temporary folders are private to the user running the tests)."""
    path = ROOT / ".local" / "test-servers" / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateServers:
    """The local runner's components under `state_dir`, with free ports in `ports`
    (environment variable → port)."""

    def __init__(self, state_dir: Path, ports: dict[str, int]) -> None:
        self.state_dir = state_dir
        self.ports = ports
        self._env = {
            **os.environ,
            "GRIDCASE_INFRA_STATE": str(state_dir),
            **{name: str(port) for name, port in ports.items()},
        }

    def infra(self, command: str, *components: str) -> None:
        subprocess.run(
            [sys.executable, str(INFRA), command, *components], env=self._env, check=True
        )

    def pid(self, component: str) -> int:
        return int((self.state_dir / "run" / f"{component}.pid").read_text())

    def kill(self, component: str) -> None:
        """SIGKILL, as a crash would; returns once the process is gone."""
        pid = self.pid(component)
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)

    def pause(self, component: str) -> None:
        """SIGSTOP; returns once every thread has stopped. The kernel stops the other
        threads only when the one it picked for the signal runs, so on a busy host a
        thread already on a CPU could otherwise still answer a request after the kill."""
        pid = self.pid(component)
        os.kill(pid, signal.SIGSTOP)
        while not _stopped(pid):
            time.sleep(0.01)

    def resume(self, component: str) -> None:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            os.kill(self.pid(component), signal.SIGCONT)


class PrivateBroker(PrivateServers):
    """One KRaft broker (`infra.py up kafka`)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(
            state_dir, {"KAFKA_PORT": free_port(), "KAFKA_CONTROLLER_PORT": free_port()}
        )
        self.bootstrap = f"127.0.0.1:{self.ports['KAFKA_PORT']}"

    def start(self) -> None:
        self.infra("up", "kafka")

    def stop(self) -> None:
        self.resume("kafka")
        self.infra("down", "kafka")

    def kill(self, component: str = "kafka") -> None:
        super().kill(component)

    def pause(self, component: str = "kafka") -> None:
        super().pause(component)

    def resume(self, component: str = "kafka") -> None:
        super().resume(component)


class PrivateCluster(PrivateServers):
    """Three KRaft nodes, each broker and controller (`KAFKA_NODES=3 infra.py up kafka`):
    topics with three replicas, `min.insync.replicas` 2."""

    NODES = ("kafka", "kafka-2", "kafka-3")

    def __init__(self, state_dir: Path) -> None:
        super().__init__(
            state_dir,
            {
                f"KAFKA_{node}{kind}": free_port()
                for node in ("", "2_", "3_")
                for kind in ("PORT", "CONTROLLER_PORT")
            },
        )
        self._env["KAFKA_NODES"] = str(len(self.NODES))
        self.bootstrap = ",".join(
            f"127.0.0.1:{self.ports[f'KAFKA_{node}PORT']}" for node in ("", "2_", "3_")
        )

    def start(self, *nodes: str) -> None:
        """The named nodes (all three if none) once ready; the running ones are left be."""
        self.infra("up", *(nodes or self.NODES))

    def stop(self) -> None:
        for node in self.NODES:
            self.resume(node)
        self.infra("down", *self.NODES)


class PrivateDatabase(PrivateServers):
    """The Mongo-wire server on a PostgreSQL of its own (`infra.py up ferretdb`)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir, {"POSTGRES_PORT": free_port(), "MONGO_PORT": free_port()})
        self.url = subprocess.run(  # the administrator's, as the shared server's in tests
            [sys.executable, str(INFRA), "mongo-url"],
            env=self._env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def start(self, *components: str) -> None:
        self.infra("up", *(components or ("ferretdb",)))

    def stop(self) -> None:
        self.infra("down", "ferretdb", "postgres")
        shutil.rmtree(self.state_dir, ignore_errors=True)


def _stopped(pid: int) -> bool:
    """Whether every thread of the process is stopped (state T in /proc)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            # the state follows the command name, which is in parentheses
            if (task / "stat").read_text().rpartition(")")[2].split()[0] != "T":
                return False
    return True


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
