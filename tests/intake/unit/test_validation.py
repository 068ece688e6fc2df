"""What a report may hold: field by field, with the field named in the error."""

from typing import Any

import pytest
from pydantic import ValidationError

from gridcase_contracts.codes import District
from gridcase_intake.domain.reports import (
    CASE_ID_FORMAT,
    LocationIn,
    ReportIn,
    ReportRejectedError,
    locate,
    new_case_id,
)


def report(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "housing-safety",
        "severity": "high",
        "description": "Cracked wall",
        "location": {"lat": 26.89, "lon": 112.57, "district": "D03"},
    }
    body.update(changes)
    return body


def error_locations(body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as raised:
        ReportIn.model_validate(body)
    return [error["loc"] for error in raised.value.errors()]


def test_a_good_report_passes_and_is_trimmed() -> None:
    parsed = ReportIn.model_validate(report(description="  Cracked wall \n"))
    assert parsed.description == "Cracked wall"


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"category": "potholes"}, ("category",)),
        ({"severity": "urgent"}, ("severity",)),
        ({"location": {"lat": 26.9, "lon": 112.5, "district": "D13"}}, ("location", "district")),
        ({"location": {"lat": 91, "lon": 112.5, "district": "D01"}}, ("location", "lat")),
        ({"location": {"lat": 26.9, "lon": -181, "district": "D01"}}, ("location", "lon")),
        ({"location": {"lat": 26.9, "district": "D01"}}, ("location",)),
        ({"description": "x" * 4001}, ("description",)),
        ({"description": "<b>loud</b> hazard"}, ("description",)),
        ({"description": "fish &amp; chips"}, ("description",)),
        ({"description": "   "}, ("description",)),
        ({"priority": 1}, ("priority",)),
        ({"location": {"lat": 1, "lon": 1, "district": "D01", "x": 1}}, ("location", "x")),
        ({"team": "Team 7"}, ("team",)),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, Any], location: tuple[str, ...]) -> None:
    assert error_locations(report(**changes)) == [location]


def test_plain_comparisons_are_not_markup() -> None:
    assert ReportIn.model_validate(report(description="crack 3 < 5 cm, load > 2 t")).description


def test_exif_gps_fills_missing_coordinates_and_a_location_is_required() -> None:
    bare = LocationIn(district=District.D02)
    assert locate(bare, [None, (26.5, 112.1)]).lat == 26.5
    assert locate(LocationIn(district=District.D02, address="1 Main St"), []).lat is None
    own = LocationIn(lat=1.0, lon=2.0, district=District.D02)
    assert locate(own, [(26.5, 112.1)]).lat == 1.0
    with pytest.raises(ReportRejectedError) as raised:
        locate(bare, [None])
    assert raised.value.loc == ("location",)


def test_case_ids_carry_the_city_date() -> None:
    from datetime import UTC, datetime

    case_id = new_case_id(datetime(2024, 3, 1, 17, 30, tzinfo=UTC))
    assert CASE_ID_FORMAT.match(case_id)
    assert case_id.startswith("GC-20240302-"), "17:30 UTC is already the 2nd in Asia/Shanghai"
