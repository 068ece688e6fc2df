"""The city's districts and communities: their codes and names, read from the GeoJSON
boundaries file every service shares (GRIDCASE_BOUNDARIES_FILE).

The file is a FeatureCollection of Polygon or MultiPolygon features whose properties are
`level` (`district` or `community`), `code`, `name_zh`, `name_en`, and for a community
the `district` it lies in. District codes are the wire's D01 to D12."""

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from gridcase_contracts.codes import District

DEMO_BOUNDARIES = Path(__file__).parent / "seed" / "demo-boundaries.geojson"
"""The demo city's boundaries (demo data, drawn around the seed city's centre)."""

Level = Literal["district", "community"]


class BoundariesError(ValueError):
    """The boundaries document is not one the services can use; says which feature."""


@dataclass(frozen=True)
class Area:
    """A district or a community: its code and its Chinese and English names."""

    level: Level
    code: str
    name_zh: str
    name_en: str
    district: District


@dataclass(frozen=True)
class Boundaries:
    areas: tuple[tuple[Area, Mapping[str, Any]], ...]
    """Every area with its GeoJSON geometry, in the file's order."""
    document: bytes
    """The file as it is, for the maps."""
    etag: str

    @functools.cached_property
    def by_code(self) -> dict[str, Area]:
        return {area.code: area for area, _ in self.areas}

    def named(self, code: str | None) -> Area | None:
        """The district or community with this code, if the boundaries hold it."""
        return None if code is None else self.by_code.get(code)


def parse_boundaries(document: bytes) -> Boundaries:
    """Raises BoundariesError naming the first feature that cannot be used."""
    try:
        collection = orjson.loads(document)
    except orjson.JSONDecodeError as error:
        raise BoundariesError(f"boundaries are not JSON: {error}") from error
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise BoundariesError("boundaries must be a GeoJSON FeatureCollection")
    areas = [_area(index, feature) for index, feature in enumerate(collection["features"])]
    districts = {area.code for area, _ in areas if area.level == "district"}
    if not districts:
        raise BoundariesError("boundaries hold no district")
    seen: set[str] = set()
    for index, (area, _) in enumerate(areas):
        if area.code in seen:
            raise BoundariesError(f"feature {index}: code {area.code} appears twice")
        seen.add(area.code)
        if area.district not in districts:
            raise BoundariesError(
                f"feature {index}: community {area.code} names district "
                f"{area.district}, which has no boundary"
            )
    etag = f'"{hashlib.sha256(document).hexdigest()[:32]}"'
    return Boundaries(areas=tuple(areas), document=document, etag=etag)


@functools.cache
def load_boundaries(path: Path) -> Boundaries:
    """The boundaries of `path`, read once per process."""
    return parse_boundaries(path.read_bytes())


def _area(index: int, feature: Mapping[str, Any]) -> tuple[Area, Mapping[str, Any]]:
    properties = feature.get("properties") or {}
    level = properties.get("level")
    if level not in ("district", "community"):
        raise BoundariesError(f"feature {index}: level must be district or community")
    try:
        code = str(properties["code"])
        district = District(code if level == "district" else properties["district"])
        area = Area(level, code, str(properties["name_zh"]), str(properties["name_en"]), district)
        geometry = feature["geometry"]
    except KeyError as error:
        raise BoundariesError(f"feature {index}: {error.args[0]} is missing") from error
    except ValueError as error:
        raise BoundariesError(f"feature {index}: district must be D01 to D12") from error
    if not isinstance(geometry, dict):
        raise BoundariesError(f"feature {index} ({code}): geometry must be a GeoJSON object")
    return area, geometry
