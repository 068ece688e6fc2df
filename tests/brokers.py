"""A Kafka broker of a test's own, started by the local runner on free ports and a state
folder of its own, so a test can kill, stall and restart it without touching the shared
broker."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "deploy" / "local" / "infra.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateBroker:
    """One KRaft broker (`infra.py up kafka`) under `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._env = {
            **os.environ,
            "GRIDCASE_INFRA_STATE": str(state_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
        }

    def _infra(self, *args: str) -> None:
        subprocess.run([sys.executable, str(INFRA), *args, "kafka"], env=self._env, check=True)

    @property
    def pid(self) -> int:
        return int((self.state_dir / "run" / "kafka.pid").read_text())

    def start(self) -> None:
        self._infra("up")

    def stop(self) -> None:
        self.resume()
        self._infra("down")

    def kill(self) -> None:
        """SIGKILL, as a crash would; returns once the process is gone."""
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if _alive(self.pid):
            os.kill(self.pid, signal.SIGCONT)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
