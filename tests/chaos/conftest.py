"""What every chaos scenario shares: the four services of its own on the given servers."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chaos.system import System

Systems = Callable[[str, str], System]


@pytest.fixture
def systems(tmp_path: Path) -> Iterator[Systems]:
    """Makes a System on a broker and a Mongo-wire server (its topics and databases of its
    own); stops its processes afterwards."""
    made: list[System] = []

    def make(bootstrap: str, mongo_url: str) -> System:
        made.append(System(f"chaos-{uuid.uuid4().hex[:8]}", bootstrap, mongo_url, tmp_path))
        return made[-1]

    yield make
    for system in made:
        system.stop()


@pytest.fixture
def system(systems: Systems, kafka_bootstrap: str, mongo_url: str) -> System:
    """The services on the shared broker and Mongo-wire server."""
    return systems(kafka_bootstrap, mongo_url)
