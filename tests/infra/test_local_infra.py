"""The local infrastructure runner: idempotent start, clear errors on taken ports."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "deploy" / "local" / "infra.py"

pytestmark = pytest.mark.integration


def infra(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(INFRA), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_a_second_up_says_so_and_does_nothing(kafka_bootstrap: str, mongo_url: str) -> None:
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
        pytest.skip("the servers come from the environment, not from the local runner")
    before = infra("status").stdout
    second = infra("up", "kafka", "ferretdb")  # brings postgres along
    assert second.returncode == 0, second.stderr
    assert "already up; nothing to do" in second.stdout
    assert infra("status").stdout == before


def test_a_port_taken_by_another_process_is_named(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = infra(
            "up",
            "prometheus",
            env={"GRIDCASE_INFRA_STATE": str(tmp_path), "PROMETHEUS_PORT": str(port)},
        )
    assert result.returncode == 2
    assert f"port {port} is already in use by another process" in result.stderr
    assert not (tmp_path / "run" / "prometheus.pid").exists()
