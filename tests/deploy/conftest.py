"""Fixtures for the static checks of the deployment files (no Docker or cluster needed)."""

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

# The test modules here import their shared helpers as `deploy_support`.
sys.path.insert(0, str(Path(__file__).parent))

from deploy_support import OVERLAYS, ROOT, VALIDATOR, VALIDATOR_SOURCE, run, tool


def validator_is_stale() -> bool:
    if not VALIDATOR.exists():
        return True
    built = VALIDATOR.stat().st_mtime
    sources = [*VALIDATOR_SOURCE.glob("*.go"), *VALIDATOR_SOURCE.glob("go.*")]
    return any(source.stat().st_mtime > built for source in sources)


@pytest.fixture(scope="session")
def validator() -> Path:
    """deploy/validate built from its go.mod/go.sum into .local/bin, rebuilt when stale."""
    if validator_is_stale():
        VALIDATOR.parent.mkdir(parents=True, exist_ok=True)
        built = run(tool("go"), "build", "-o", VALIDATOR, ".", cwd=VALIDATOR_SOURCE)
        assert built.returncode == 0, built.stderr
    return VALIDATOR


@pytest.fixture(scope="session")
def rendered(validator: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """Every overlay built and schema-checked by the validator: overlay name -> objects."""
    out = tmp_path_factory.mktemp("rendered")
    result = run(validator, "k8s", "-render", out, *OVERLAYS)
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        overlay.name: list(yaml.safe_load_all((out / f"{overlay.name}.yaml").read_text()))
        for overlay in OVERLAYS
    }


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    """The variables .env.example defines, name -> placeholder value."""
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {name.strip(): value.strip() for name, value in pairs}
