"""A photo check's peak memory, measured in a fresh process: the worst photos the check
accepts stay under a quarter of intake's pod memory limit, and bombs are refused within
it."""

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from runtime.photo_memory import WORST_ACCEPTED, jpeg_bomb, measure, png_bomb

REPOSITORY = Path(__file__).resolve().parents[2]
_UNITS = {"Mi": 1024, "Gi": 1024 * 1024}


def intake_memory_limit_kib() -> int:
    """The memory limit of intake's container in the Kubernetes base."""
    documents = yaml.safe_load_all((REPOSITORY / "k8s/base/intake.yaml").read_text())
    deployment = next(d for d in documents if d and d["kind"] == "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    limit: str = container["resources"]["limits"]["memory"]
    return int(limit[:-2]) * _UNITS[limit[-2:]]


BOUND_KIB = intake_memory_limit_kib() // 4


@pytest.mark.parametrize("kind", sorted(WORST_ACCEPTED))
def test_the_worst_accepted_photos_peak_under_a_quarter_of_the_pod_limit(
    kind: str, tmp_path: Path
) -> None:
    path = tmp_path / kind
    path.write_bytes(WORST_ACCEPTED[kind]())
    figures = measure(path)
    assert str(figures["outcome"]).startswith("accepted")
    assert int(str(figures["peak_kib"])) < BOUND_KIB


@pytest.mark.parametrize("bomb", [png_bomb, jpeg_bomb])
def test_a_decompression_bomb_is_refused_within_the_memory_bound(
    bomb: Callable[[], bytes], tmp_path: Path
) -> None:
    path = tmp_path / "bomb"
    path.write_bytes(bomb())
    figures = measure(path)
    assert str(figures["outcome"]).startswith("refused")
    assert int(str(figures["peak_kib"])) < BOUND_KIB
    assert len(path.read_bytes()) < 1024 * 1024, "a small file declaring a huge image"
