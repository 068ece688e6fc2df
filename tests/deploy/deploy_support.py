"""Paths, the agreed service table and helpers shared by the deployment checks."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR_SOURCE = ROOT / "deploy" / "validate"
VALIDATOR = ROOT / ".local" / "bin" / "gridcase-validate"
SERVICES = {
    # compose/k8s name: (console script, settings env prefix, port), as the conventions agree
    "intake": ("gridcase-intake", "INTAKE_", 8001),
    "assignment": ("gridcase-assignment", "ASSIGNMENT_", 8002),
    "remediation-tracking": ("gridcase-remediation", "REMEDIATION_", 8003),
    "statistics": ("gridcase-statistics", "STATISTICS_", 8004),
}
OVERLAYS = sorted(path.parent for path in (ROOT / "k8s" / "overlays").glob("*/kustomization.yaml"))


def tool(name: str) -> str:
    """The path of a command-line tool the checks need; a clear failure when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make install` (deploy/local/infra.py install)")
    return path


def run(
    *command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
