"""Reads the city's boundaries file once per process."""

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import orjson

from gridcase_intake.domain.geography import Geography


@dataclass(frozen=True)
class Boundaries:
    geography: Geography
    document: bytes
    """The file as it is, for the maps (GET /v1/boundaries)."""
    etag: str


@functools.cache
def load_boundaries(path: Path) -> Boundaries:
    """The boundaries of `path`; raises BoundariesError (a ValueError) if they are unusable."""
    document = path.read_bytes()
    return Boundaries(
        geography=Geography.from_geojson(orjson.loads(document)),
        document=document,
        etag=f'"{hashlib.sha256(document).hexdigest()[:32]}"',
    )
