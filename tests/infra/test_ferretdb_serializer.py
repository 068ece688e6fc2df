"""The Mongo-wire server's write serializer (deploy/ferretdb): its Go unit tests, which
read write commands' scopes and check the lock table's exclusions. The behaviour over the
wire is tested in tests/runtime/test_mongo_integration.py."""

import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "deploy" / "ferretdb"

pytestmark = pytest.mark.integration


def test_the_serializer_go_tests_pass() -> None:
    go = shutil.which("go")
    assert go, "Go builds the Mongo-wire server; it is needed to test it"
    result = subprocess.run(
        [go, "test", "."], cwd=SOURCE, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
