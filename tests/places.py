"""Points inside the demo city's districts and communities, from its boundaries file."""

from functools import cache

import orjson
from shapely.geometry import shape

from gridcase_runtime.boundaries import DEMO_BOUNDARIES


@cache
def _communities() -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {}
    for feature in orjson.loads(DEMO_BOUNDARIES.read_bytes())["features"]:
        properties = feature["properties"]
        if properties["level"] == "community":
            inside = shape(feature["geometry"]).representative_point()
            points.setdefault(properties["district"], []).append((inside.y, inside.x))
    return points


def point_in(district: str, spot: int = 0) -> tuple[float, float]:
    """(lat, lon) inside district `district`: a different community for each `spot`
    (kilometres apart, so reports at different spots are never duplicates)."""
    spots = _communities()[district]
    return spots[spot % len(spots)]
