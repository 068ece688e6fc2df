"""What a report may hold: field by field, with the field named in the error."""

from typing import Any

import pytest
from pydantic import ValidationError

from gridcase_intake.domain.reports import (
    CASE_ID_FORMAT,
    ReportIn,
    ReportRejectedError,
    check_text,
    has_markup,
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
        ({"description": "   "}, ("description",)),
        ({"priority": 1}, ("priority",)),
        ({"location": {"lat": 1, "lon": 1, "district": "D01", "x": 1}}, ("location", "x")),
        ({"team": "team-07"}, ("team",)),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, Any], location: tuple[str, ...]) -> None:
    assert error_locations(report(**changes)) == [location]


def text_rejection(body: dict[str, Any]) -> ReportRejectedError:
    with pytest.raises(ReportRejectedError) as raised:
        check_text(ReportIn.model_validate(body))
    return raised.value


@pytest.mark.parametrize(
    ("changes", "location", "reason"),
    [
        ({"description": "<b>loud</b> hazard"}, ("description",), "markup"),
        ({"description": "a < /script > b"}, ("description",), "markup"),
        ({"description": "<!-- x -->"}, ("description",), "markup"),
        ({"description": "fish &amp; chips"}, ("description",), "markup"),
        ({"description": "bell\x07 inside"}, ("description",), "U+0007"),
        ({"description": "null\x00 inside"}, ("description",), "U+0000"),
        ({"description": "escape\x1b[31m red"}, ("description",), "U+001B"),
        (
            {"location": {"address": "1 Main\nSt", "district": "D01"}},
            ("location", "address"),
            "U+000A",
        ),
        (
            {"location": {"lat": 1, "lon": 1, "community": "East\tside", "district": "D01"}},
            ("location", "community"),
            "U+0009",
        ),
        (
            {"location": {"lat": 1, "lon": 1, "community": "<i>East</i>", "district": "D01"}},
            ("location", "community"),
            "markup",
        ),
    ],
)
def test_text_with_markup_or_control_characters_is_refused_by_field(
    changes: dict[str, Any], location: tuple[str, ...], reason: str
) -> None:
    rejection = text_rejection(report(**changes))
    assert rejection.loc == location
    assert reason in rejection.message


def test_a_description_may_span_lines_and_hold_comparisons() -> None:
    text = "crack 3 < 5 cm,\r\n\tload > 2 t; R&D <- ok"
    check_text(ReportIn.model_validate(report(description=text)))


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("<" + " " * 3998 + "x", False),
        ("<a" * 2000, False),
        ("< " * 2000, False),
        ("&" + "a" * 3999, False),
        ("<" + " " * 3998 + "x>", True),
        ("<a" * 1999 + ">", True),
        ("x > y < z", False),
        ("&#x41;", True),
        ("&#65;", True),
    ],
)
def test_markup_detection_on_adversarial_text(text: str, markup: bool) -> None:
    assert has_markup(text) is markup


def test_case_ids_carry_the_city_date() -> None:
    from datetime import UTC, datetime

    case_id = new_case_id(datetime(2024, 3, 1, 17, 30, tzinfo=UTC))
    assert CASE_ID_FORMAT.match(case_id)
    assert case_id.startswith("GC-20240302-"), "17:30 UTC is already the 2nd in Asia/Shanghai"
