"""Open311 GeoReport v2 mapping: form parameters in, service requests out, JSON and XML."""

from datetime import UTC, datetime
from xml.etree import ElementTree

import orjson
import pytest

from gridcase_intake.commands import geography_of
from gridcase_intake.domain import open311
from gridcase_intake.domain.open311 import Open311Error
from gridcase_runtime.boundaries import DEMO_BOUNDARIES

FORM = [
    ("service_code", "fire-safety"),
    ("lat", "26.9"),
    ("long", "112.6"),
    ("description", "Blocked fire exit"),
    ("attribute[district]", "D04"),
    ("email", "someone@example.org"),
]
DEMO = geography_of(DEMO_BOUNDARIES)


def test_a_form_becomes_a_report() -> None:
    parsed = open311.parse_request([*FORM, ("attribute[severity]", "critical")])
    assert parsed.report.category.value == "fire-safety"
    assert parsed.report.severity.value == "critical"
    assert parsed.report.location.district.value == "D04"
    assert (parsed.report.location.lat, parsed.report.location.lon) == (26.9, 112.6)
    assert parsed.attributes == {"district": "D04", "severity": "critical"}
    defaulted = open311.parse_request(FORM)
    assert defaulted.report.severity.value == "medium"


def test_the_district_is_optional_as_the_service_definition_says() -> None:
    parsed = open311.parse_request([pair for pair in FORM if pair[0] != "attribute[district]"])
    assert parsed.report.location.district is None
    district = open311.service_definition("other", DEMO)["attributes"][0]
    assert (district["code"], district["required"]) == ("district", False)
    assert district["values"][4] == {"key": "D05", "name": "北山县 Beishan County"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"service_code": "graffiti"}, "service_code graffiti is not a known service"),
        ({"attribute[district]": "D99"}, "attribute[district]:"),
        ({"lat": "north"}, "lat must be a decimal number"),
        ({"long": ""}, "lat and long must be given together"),
        ({"lat": "", "long": ""}, "a location is required"),
        ({"media_url": "ftp://x"}, "media_url must be an http(s) URL"),
        ({"attribute[colour]": "red"}, "attribute[colour] is not an attribute"),
        ({"nickname": "x"}, "nickname is not a parameter"),
    ],
)
def test_bad_forms_get_a_400_that_names_the_parameter(change: dict[str, str], message: str) -> None:
    form = dict(FORM) | change
    with pytest.raises(Open311Error) as raised:
        open311.parse_request(form.items())
    assert raised.value.status_code == 400
    assert message in raised.value.description


CASE = {
    "_id": "GC-20240501-ABCDEFGH",
    "status": "in_remediation",
    "category": "fire-safety",
    "description": "Blocked fire exit",
    "department": "fire-rescue",
    "reported_at": datetime(2024, 5, 1, 2, 0, tzinfo=UTC),
    "updated_at": datetime(2024, 5, 2, 2, 0, tzinfo=UTC),
    "location": {
        "lat": 26.9,
        "lon": 112.6,
        "address": None,
        "district": "D03",
        "community": "红旗社区",
        "community_code": "D03-C06",
    },
    "photos": [{"photo_id": "p", "url": "http://intake/v1/photos/p"}],
    "last_note": "Exit cleared, signage ordered",
    "public_note": "Exit cleared, signage ordered",
    "timeline": [
        {
            "at": datetime(2024, 5, 1, 2, 0, tzinfo=UTC),
            "event": "CaseReported",
            "status": "reported",
            "note": None,
        },
        {
            "at": datetime(2024, 5, 2, 2, 0, tzinfo=UTC),
            "event": "ProgressRecorded",
            "status": "in_remediation",
            "note": "Exit cleared, signage ordered",
            "public": True,
        },
    ],
}


def test_a_case_as_a_service_request_in_json() -> None:
    view = open311.request_view(CASE, DEMO)
    assert view["service_request_id"] == CASE["_id"]
    assert view["status"] == "open"
    assert view["status_notes"] == "Exit cleared, signage ordered"
    assert view["service_name"] == "Fire safety"
    assert view["agency_responsible"] == "fire-rescue"
    assert view["requested_datetime"] == "2024-05-01T10:00:00+08:00"
    assert (view["lat"], view["long"]) == (26.9, 112.6)
    assert view["media_url"] == "http://intake/v1/photos/p"
    assert "extended_attributes" not in view
    orjson.dumps([view])


@pytest.mark.parametrize(
    ("status", "open_or_closed"),
    [
        ("resolved", "open"),
        ("closed", "closed"),
        ("rejected", "closed"),
        ("duplicate", "closed"),
        ("reopened", "open"),
    ],
)
def test_open_and_closed_follow_the_final_statuses(status: str, open_or_closed: str) -> None:
    assert open311.request_view({**CASE, "status": status}, DEMO)["status"] == open_or_closed


def test_extensions_and_xml() -> None:
    view = open311.request_view(CASE, DEMO, extensions=True, notes=True)
    root = ElementTree.fromstring(open311.to_xml("service_requests", [view]))
    assert root.tag == "service_requests"
    assert root.findtext("request/status") == "open"
    assert root.findtext("request/expected_datetime") == ""
    assert root.findtext("request/extended_attributes/detailed_status") == "in_remediation"
    assert root.findtext("request/extended_attributes/district_name_en") == "Chengzhong District"
    assert root.findtext("request/extended_attributes/community_name_en") == "Hongqi Community"
    assert [n.findtext("note") for n in root.findall("request/extended_attributes/notes/note")] == [
        "Exit cleared, signage ordered"
    ]


def test_notes_only_when_asked_for_by_the_filer() -> None:
    public = open311.request_view(CASE, DEMO, extensions=True)
    assert public["extended_attributes"]["detailed_status"] == "in_remediation"
    assert "notes" not in public["extended_attributes"]
    assert "extended_attributes" not in open311.request_view(CASE, DEMO, notes=True)


def test_open311_clients_report_under_their_own_namespace() -> None:
    reporter = open311.client_reporter("city-app")
    assert (reporter.reporter_id, reporter.kind) == ("open311:city-app", "open311-client")


def test_services_definitions_and_errors_in_xml() -> None:
    services = ElementTree.fromstring(open311.to_xml("services", open311.services()))
    assert len(services.findall("service")) == 10
    assert services.findtext("service/metadata") == "true"
    definition = ElementTree.fromstring(
        open311.to_xml("service_definition", open311.service_definition("sanitation", DEMO))
    )
    district = definition.find("attributes/attribute")
    assert district is not None
    assert district.findtext("code") == "district"
    assert district.findtext("datatype") == "singlevaluelist"
    assert [v.findtext("key") for v in district.findall("values/value")][:2] == ["D01", "D02"]
    with pytest.raises(Open311Error):
        open311.service_definition("graffiti", DEMO)
    errors = ElementTree.fromstring(
        open311.to_xml("errors", open311.errors(403, "api_key is not valid"))
    )
    assert errors.findtext("error/code") == "403"
    assert errors.findtext("error/description") == "api_key is not valid"
    assert open311.errors(404, "x") == [{"code": 404, "description": "x"}]


def test_the_xml_feed_stays_well_formed_whatever_a_description_holds() -> None:
    hostile = "".join(map(chr, range(32))) + "\x7f\ud800\ufffe\uffff]]></description><x>&amp;"
    view = open311.request_view({**CASE, "description": hostile, "last_note": hostile}, DEMO)
    root = ElementTree.fromstring(open311.to_xml("service_requests", [view]))
    description = root.findtext("request/description") or ""
    assert description.endswith("\ufffd\ufffd\ufffd]]></description><x>&amp;")
    assert "\t" in description
    assert "\n" in description
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in description)


def test_internal_notes_never_reach_open311() -> None:
    rejected = {
        **CASE,
        "status": "rejected",
        "last_note": "Reporter is the landlord's rival; see file 7",
        "timeline": [
            *CASE["timeline"],  # type: ignore[misc]
            {
                "at": datetime(2024, 5, 3, 2, 0, tzinfo=UTC),
                "event": "CaseRejected",
                "status": "rejected",
                "note": "Reporter is the landlord's rival; see file 7",
                "public": False,
            },
        ],
    }
    view = open311.request_view(rejected, DEMO, extensions=True, notes=True)
    assert view["status_notes"] == "Exit cleared, signage ordered"
    assert [n["note"] for n in view["extended_attributes"]["notes"]] == [
        "Exit cleared, signage ordered"
    ]
    unmarked = {**CASE, "public_note": None, "timeline": [{**CASE["timeline"][1], "public": None}]}  # type: ignore[index]
    assert open311.request_view(unmarked, DEMO)["status_notes"] is None
