"""Which of the city's districts and communities contains a point (shapely STRtrees)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree

from gridcase_contracts.codes import District
from gridcase_runtime.boundaries import Area, Boundaries, BoundariesError


@dataclass(frozen=True)
class Place:
    """Where a point lies: its district, and its community if the city drew one there."""

    district: Area
    community: Area | None


class _Layer:
    """The areas of one level in an STRtree; a point on a shared border takes the area
    with the smallest code."""

    def __init__(self, areas: Sequence[tuple[Area, shapely.Geometry]]) -> None:
        self.areas = [area for area, _ in areas]
        geometries = [geometry for _, geometry in areas]
        for geometry in geometries:
            shapely.prepare(geometry)
        self.tree = STRtree(geometries)

    def containing(self, point: shapely.Point) -> Area | None:
        hits: list[int] = self.tree.query(point, predicate="intersects").tolist()
        return min((self.areas[index] for index in hits), key=_code, default=None)


class Geography:
    """Districts and communities by code and by point. Raises BoundariesError for a
    geometry that is not a valid polygon."""

    def __init__(self, boundaries: Boundaries) -> None:
        shapes = [(area, _shape(area, geometry)) for area, geometry in boundaries.areas]
        districts = [(area, geometry) for area, geometry in shapes if area.level == "district"]
        communities = [(area, geometry) for area, geometry in shapes if area.level == "community"]
        self.districts = {area.code: area for area, _ in districts}
        self.communities = {area.code: area for area, _ in communities}
        self._district_layer = _Layer(districts)
        self._community_layer = _Layer(communities)

    def place_of(self, lat: float, lon: float) -> Place | None:
        """The district and community containing the point; None outside every district."""
        point = shapely.Point(lon, lat)
        district = self._district_layer.containing(point)
        if district is None:
            return None
        community = self._community_layer.containing(point)
        if community is not None and community.district != district.district:
            community = None
        return Place(district, community)

    def district(self, code: District) -> Area | None:
        return self.districts.get(code.value)

    def community_named(self, district: District, name: str) -> Area | None:
        """The community of `district` whose Chinese or English name is `name`."""
        wanted = name.strip().casefold()
        return next(
            (
                area
                for area in self.communities.values()
                if area.district == district
                and wanted in (area.name_zh.casefold(), area.name_en.casefold())
            ),
            None,
        )


def _code(area: Area) -> str:
    return area.code


def _shape(area: Area, geometry: Mapping[str, Any]) -> shapely.Geometry:
    try:
        built = shape(dict(geometry))
    except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as error:
        raise BoundariesError(f"{area.code}: geometry is not GeoJSON") from error
    if built.geom_type not in ("Polygon", "MultiPolygon") or not built.is_valid:
        raise BoundariesError(f"{area.code}: geometry must be a valid polygon")
    return built
