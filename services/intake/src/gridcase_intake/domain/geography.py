"""The city's districts and communities, and which of them contains a point.

Boundaries come as GeoJSON: a FeatureCollection of Polygon or MultiPolygon features whose
properties are `level` (`district` or `community`), `code`, `name_zh`, `name_en`, and
for a community the `district` it belongs to. District codes are the wire's D01 to D12."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree

from gridcase_contracts.codes import District

Level = Literal["district", "community"]


@dataclass(frozen=True)
class Area:
    """A district or a community: its code and its Chinese and English names."""

    code: str
    name_zh: str
    name_en: str
    district: District


@dataclass(frozen=True)
class Place:
    """Where a point lies: its district, and its community if the city drew one there."""

    district: Area
    community: Area | None


class BoundariesError(ValueError):
    """The boundaries document is not one this module can use; says which feature."""


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
    """Districts and communities by code and by point; built once per boundaries file."""

    def __init__(self, areas: Sequence[tuple[Level, Area, shapely.Geometry]]) -> None:
        districts = [(area, geometry) for level, area, geometry in areas if level == "district"]
        communities = [(area, geometry) for level, area, geometry in areas if level == "community"]
        self.districts = {area.code: area for area, _ in districts}
        self.communities = {area.code: area for area, _ in communities}
        self._district_layer = _Layer(districts)
        self._community_layer = _Layer(communities)

    @classmethod
    def from_geojson(cls, document: Mapping[str, Any]) -> "Geography":
        """Raises BoundariesError naming the first feature that cannot be used."""
        if document.get("type") != "FeatureCollection":
            raise BoundariesError("boundaries must be a GeoJSON FeatureCollection")
        areas = [_area(index, feature) for index, feature in enumerate(document["features"])]
        districts = {area.code for level, area, _ in areas if level == "district"}
        seen: set[str] = set()
        for index, (level, area, _) in enumerate(areas):
            if area.code in seen:
                raise BoundariesError(f"feature {index}: code {area.code} appears twice")
            seen.add(area.code)
            if level == "community" and area.district not in districts:
                raise BoundariesError(
                    f"feature {index}: community {area.code} names district "
                    f"{area.district}, which has no boundary"
                )
        if not districts:
            raise BoundariesError("boundaries hold no district")
        return cls(areas)

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


def _area(index: int, feature: Mapping[str, Any]) -> tuple[Level, Area, shapely.Geometry]:
    properties = feature.get("properties") or {}
    level = properties.get("level")
    if level not in ("district", "community"):
        raise BoundariesError(f"feature {index}: level must be district or community")
    try:
        code = str(properties["code"])
        district = District(code if level == "district" else properties["district"])
        area = Area(code, str(properties["name_zh"]), str(properties["name_en"]), district)
    except KeyError as error:
        raise BoundariesError(f"feature {index}: property {error.args[0]} is missing") from error
    except ValueError as error:
        raise BoundariesError(f"feature {index}: district must be D01 to D12") from error
    try:
        geometry = shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as error:
        raise BoundariesError(f"feature {index} ({code}): geometry is not GeoJSON") from error
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or not geometry.is_valid:
        raise BoundariesError(f"feature {index} ({code}): geometry must be a valid polygon")
    return level, area, geometry
