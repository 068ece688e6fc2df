"""The city's boundaries file: codes and names of every district and community."""

from typing import Any

import orjson
import pytest

from gridcase_contracts.codes import District
from gridcase_runtime.boundaries import (
    DEMO_BOUNDARIES,
    BoundariesError,
    load_boundaries,
    parse_boundaries,
)
from gridcase_runtime.settings import ServiceSettings

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}


def feature(**properties: str) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": SQUARE}


def district(code: str) -> dict[str, Any]:
    return feature(level="district", code=code, name_zh="区", name_en="District")


def test_the_demo_city_is_labelled_and_names_every_area() -> None:
    demo = load_boundaries(ServiceSettings().boundaries_file)
    assert demo is load_boundaries(DEMO_BOUNDARIES)
    assert orjson.loads(demo.document)["properties"]["demo"] is True
    districts = [area for area, _ in demo.areas if area.level == "district"]
    assert [area.code for area in districts] == [d.value for d in District]
    d05, first_community = demo.named("D05"), demo.named("D05-C01")
    assert d05 is not None
    assert d05.name_en == "Beishan County"
    assert first_community is not None
    assert first_community.district == District.D05
    assert demo.named("X") is None
    assert demo.etag.startswith('"')


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"{", "not JSON"),
        ({"type": "Feature"}, "FeatureCollection"),
        ({"type": "FeatureCollection", "features": []}, "no district"),
        ({"type": "FeatureCollection", "features": [feature(level="x")]}, "feature 0: level"),
        (
            {"type": "FeatureCollection", "features": [feature(level="district", code="D01")]},
            "feature 0: name_zh is missing",
        ),
        ({"type": "FeatureCollection", "features": [district("D13")]}, "D01 to D12"),
        (
            {"type": "FeatureCollection", "features": [district("D01"), district("D01")]},
            "feature 1: code D01 appears twice",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    district("D01"),
                    feature(
                        level="community", code="C1", district="D02", name_zh="社", name_en="C"
                    ),
                ],
            },
            "feature 1: community C1 names district D02, which has no boundary",
        ),
    ],
)
def test_unusable_boundaries_are_refused_naming_the_feature(
    document: dict[str, Any] | bytes, message: str
) -> None:
    raw = document if isinstance(document, bytes) else orjson.dumps(document)
    with pytest.raises(BoundariesError, match=message):
        parse_boundaries(raw)
