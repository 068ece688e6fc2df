"""District and community from a report's point, by the demo city's boundaries."""

import orjson
import pytest

from gridcase_contracts.codes import District
from gridcase_intake.commands import geography_of
from gridcase_intake.domain.geography import Geography
from gridcase_intake.domain.reports import LocationIn, ReportRejectedError, locate
from gridcase_runtime.boundaries import DEMO_BOUNDARIES, BoundariesError, parse_boundaries
from places import point_in

DEMO = geography_of(DEMO_BOUNDARIES)
OUTSIDE = (30.0, 100.0)


def test_the_demo_city_has_twelve_districts_each_with_named_communities() -> None:
    assert sorted(DEMO.districts) == [district.value for district in District]
    assert len(DEMO.communities) == 108
    assert DEMO.districts["D05"].name_zh == "北山县"
    assert geography_of(DEMO_BOUNDARIES) is DEMO


@pytest.mark.parametrize("district", list(District))
def test_every_community_point_lies_in_its_district_and_community(district: District) -> None:
    communities = set()
    for spot in range(9):
        place = DEMO.place_of(*point_in(district, spot))
        assert place is not None
        assert place.district.code == district
        assert place.community is not None
        assert place.community.district == district
        communities.add(place.community.code)
    assert len(communities) == 9


def test_the_city_centre_and_a_point_outside() -> None:
    centre = DEMO.place_of(26.89, 112.57)
    assert centre is not None
    assert (centre.district.code, centre.district.name_en) == ("D03", "Chengzhong District")
    assert DEMO.place_of(*OUTSIDE) is None


def test_a_point_fills_in_district_and_community() -> None:
    lat, lon = point_in("D05", 2)
    location = locate(LocationIn(lat=lat, lon=lon), [], DEMO)
    assert location.district == District.D05
    assert location.community_code == "D05-C03"
    assert location.community == DEMO.communities["D05-C03"].name_zh
    named = locate(LocationIn(lat=lat, lon=lon, community="Back lane"), [], DEMO)
    assert (named.community, named.community_code) == ("Back lane", "D05-C03")


def test_a_given_district_that_contradicts_the_point_is_refused_naming_both() -> None:
    lat, lon = point_in("D05")
    assert locate(LocationIn(lat=lat, lon=lon, district=District.D05), [], DEMO).lat == lat
    with pytest.raises(ReportRejectedError) as raised:
        locate(LocationIn(lat=lat, lon=lon, district=District.D07), [], DEMO)
    assert raised.value.loc == ("location", "district")
    assert "district D07 was given" in raised.value.message
    assert "lies in district D05" in raised.value.message


def test_a_point_outside_every_district_is_refused_or_goes_to_the_fallback() -> None:
    outside = LocationIn(lat=OUTSIDE[0], lon=OUTSIDE[1])
    with pytest.raises(ReportRejectedError) as raised:
        locate(outside, [], DEMO)
    assert "outside every district" in raised.value.message
    fallback = locate(outside, [], DEMO, fallback_district=District.D01)
    assert (fallback.district, fallback.community_code) == (District.D01, None)


def test_an_address_alone_needs_its_district() -> None:
    with pytest.raises(ReportRejectedError) as raised:
        locate(LocationIn(address="1 Main St"), [], DEMO)
    assert raised.value.loc == ("location", "district")
    by_address = locate(
        LocationIn(address="1 Main St", district=District.D03, community="Hongqi Community"),
        [],
        DEMO,
    )
    assert (by_address.lat, by_address.community_code) == (None, "D03-C06")


def test_photo_gps_places_a_report_without_coordinates() -> None:
    lat, lon = point_in("D11")
    assert locate(LocationIn(), [None, (lat, lon)], DEMO).district == District.D11
    own = LocationIn(lat=26.89, lon=112.57)
    assert locate(own, [(lat, lon)], DEMO).district == District.D03
    with pytest.raises(ReportRejectedError) as raised:
        locate(LocationIn(), [None], DEMO)
    assert raised.value.loc == ("location",)


def test_a_geometry_that_is_not_a_polygon_is_refused_naming_the_area() -> None:
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "properties": {
                    "level": "district",
                    "code": "D01",
                    "name_zh": "一",
                    "name_en": "One",
                },
                "geometry": {"type": "Point", "coordinates": [1, 2]},
            }
        ],
    }
    with pytest.raises(BoundariesError, match="D01: geometry must be a valid polygon"):
        Geography(parse_boundaries(orjson.dumps(document)))
