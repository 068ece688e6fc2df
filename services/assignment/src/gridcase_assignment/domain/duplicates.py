"""Duplicate detection: same category, within a radius and a time window of an open case.

Geometry without geo indexes, by equality alone (the only lookup every Mongo-wire server
serves from an index): the plane is cut into grid cells as tall as the search diameter, each
open case keeps the cells its search circle touches (`cells_near`), a new report looks for
cases holding its own cell (`grid_cell`), and haversine decides."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def bounding_box(lat: float, lon: float, radius_m: float) -> BoundingBox:
    """A box that contains every point within `radius_m` (slightly generous; the
    haversine check decides). Its longitudes pass ±180 where the circle crosses the
    antimeridian."""
    margin = radius_m * 1.01
    dlat = math.degrees(margin / EARTH_RADIUS_M)
    cos_lat = math.cos(math.radians(lat))
    if cos_lat < 1e-6 or abs(lat) + dlat >= 90:
        return BoundingBox(max(-90.0, lat - dlat), min(90.0, lat + dlat), -180.0, 180.0)
    dlon = math.degrees(margin / (EARTH_RADIUS_M * cos_lat))
    return BoundingBox(lat - dlat, lat + dlat, lon - dlon, lon + dlon)


def _wrapped(lon: float) -> float:
    """The same meridian as `lon`, in [-180, 180)."""
    return (lon + 180) % 360 - 180


def _longitude_spans(box: BoundingBox) -> list[tuple[float, float]]:
    """The box's longitudes within [-180, 180], in two spans where it crosses ±180."""
    if box.min_lon < -180:
        return [(box.min_lon + 360, 180.0), (-180.0, box.max_lon)]
    if box.max_lon > 180:
        return [(box.min_lon, 180.0), (-180.0, box.max_lon - 360)]
    return [(box.min_lon, box.max_lon)]


POLAR_LATITUDE = 80.0
"""Beyond it a band of cells is one cell all round (meridians converge)."""


def cell_degrees(radius_m: float) -> float:
    """The side of a cell in degrees of latitude: the search circle's diameter."""
    return math.degrees(2 * radius_m / EARTH_RADIUS_M)


def _column_scale(band: int, size: float) -> float | None:
    """Degrees of longitude to cell widths in `band` (cells stay about square), or None
    for a polar band."""
    centre = (band + 0.5) * size
    return None if abs(centre) > POLAR_LATITUDE else math.cos(math.radians(centre)) / size


def _cell(band: int, column: int) -> str:
    return f"{band}:{column}"


def grid_cell(lat: float, lon: float, radius_m: float) -> str:
    """The cell of the point (lat, lon) in the grid for `radius_m`."""
    size = cell_degrees(radius_m)
    band = math.floor(lat / size)
    scale = _column_scale(band, size)
    return _cell(band, 0 if scale is None else math.floor(_wrapped(lon) * scale))


def cells_near(lat: float, lon: float, radius_m: float) -> list[str]:
    """Every cell that holds a point within `radius_m` of (lat, lon): the cells of its
    bounding box, so a point nearby always finds this one by its own `grid_cell`."""
    size = cell_degrees(radius_m)
    box = bounding_box(lat, lon, radius_m)
    cells = []
    for band in range(math.floor(box.min_lat / size), math.floor(box.max_lat / size) + 1):
        scale = _column_scale(band, size)
        if scale is None:
            cells.append(_cell(band, 0))
            continue
        for west, east in _longitude_spans(box):
            first, last = math.floor(west * scale), math.floor(east * scale)
            cells.extend(_cell(band, column) for column in range(first, last + 1))
    return cells


@dataclass(frozen=True)
class NearbyCase:
    """An open, non-duplicate case of the same category whose cells hold the report's."""

    case_id: str
    lat: float
    lon: float
    reported_at: datetime


@dataclass(frozen=True)
class Match:
    primary: NearbyCase
    distance_m: float


def find_primary(
    lat: float,
    lon: float,
    reported_at: datetime,
    nearby: Iterable[NearbyCase],
    *,
    radius_m: float,
    window: timedelta,
) -> Match | None:
    """The nearest case within `radius_m` and `window`; ties go to the earlier report."""
    matches = [
        Match(case, haversine_m(lat, lon, case.lat, case.lon))
        for case in nearby
        if abs(case.reported_at - reported_at) <= window
    ]
    within = [m for m in matches if m.distance_m <= radius_m]
    return min(
        within,
        key=lambda m: (m.distance_m, m.primary.reported_at, m.primary.case_id),
        default=None,
    )


def cluster_priority(cluster_size: int, thresholds: Sequence[int]) -> int:
    """One priority step per threshold the cluster (primary included) has reached."""
    return sum(1 for threshold in thresholds if cluster_size >= threshold)
