"""Open311 GeoReport v2: our categories as services, form requests as reports, case views
as service requests, and the two wire formats (JSON and XML)."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from pydantic import ValidationError

from gridcase_contracts.codes import CATEGORY_NAMES, CITY_TIME_ZONE, Category, District, Severity
from gridcase_contracts.events import Reporter
from gridcase_intake.domain.geography import Geography
from gridcase_intake.domain.projection import is_open
from gridcase_intake.domain.reports import LocationIn, ReportIn, ReportRejectedError

CLIENT_PREFIX = "open311:"
"""Open311 clients' reporter ids are their api key names with this prefix."""
DEFAULT_SPAN_DAYS = 90
MAX_PAGE_SIZE = 100
"""Requests per page of GET Service Requests, and the default: the specification's 1000
is more than an anonymous read should cost."""
MAX_PAGE = 1000
MAX_MEDIA_URL = 2000

STANDARD_PARAMETERS = frozenset(
    {
        "jurisdiction_id",
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "email",
        "device_id",
        "account_id",
        "first_name",
        "last_name",
        "phone",
        "description",
        "media_url",
        "api_key",
    }
)
"""POST parameters of the specification. Contact details are accepted but not stored."""

ATTRIBUTES: tuple[dict[str, Any], ...] = (
    {
        "variable": True,
        "code": "district",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "District code D01 to D12; found from lat and long when not "
        "given, required with address_string alone",
        "order": 1,
        "description": "District (县市区) where the problem is",
        "values": [{"key": d.value, "name": d.value} for d in District],
    },
    {
        "variable": True,
        "code": "severity",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "low, medium (the default), high or critical (重大隐患)",
        "order": 2,
        "description": "How serious the hazard is",
        "values": [{"key": s.value, "name": s.value} for s in Severity],
    },
    {
        "variable": True,
        "code": "community",
        "datatype": "string",
        "required": False,
        "datatype_description": "Name of the community (社区), up to 200 characters",
        "order": 3,
        "description": "Community",
        "values": [],
    },
)
ATTRIBUTE_CODES = frozenset(attribute["code"] for attribute in ATTRIBUTES)
SERVICE_CODES = frozenset(category.value for category in Category)

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry, even escaped."""

_LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "notes": "note",
    "errors": "error",
}


class Open311Error(Exception):
    """An error the specification's way: HTTP status and a description."""

    def __init__(self, status_code: int, description: str) -> None:
        super().__init__(description)
        self.status_code = status_code
        self.description = description


def services() -> list[dict[str, Any]]:
    return [
        {
            "service_code": category.value,
            "service_name": english,
            "description": f"{chinese} / {english}",
            "metadata": True,
            "type": "realtime",
            "keywords": chinese,
            "group": "hazards" if category != Category.PUBLIC_SERVICE_OBSTRUCTION else "services",
        }
        for category, (chinese, english) in CATEGORY_NAMES.items()
    ]


def service_definition(service_code: str, geography: Geography) -> dict[str, Any]:
    """A service's attributes; the districts' values carry their Chinese and English names."""
    if service_code not in SERVICE_CODES:
        raise Open311Error(404, f"service_code {service_code} not found")
    attributes = [dict(a) for a in ATTRIBUTES]
    for attribute in attributes:
        if attribute["code"] == "district":
            attribute["values"] = [_named_value(value, geography) for value in attribute["values"]]
    return {"service_code": service_code, "attributes": attributes}


def _named_value(value: dict[str, str], geography: Geography) -> dict[str, str]:
    area = geography.district(District(value["key"]))
    return value if area is None else {**value, "name": f"{area.name_zh} {area.name_en}"}


@dataclass(frozen=True)
class Open311Report:
    report: ReportIn
    attributes: dict[str, str]
    media_url: str | None
    account_id: str | None


def _float(form: Mapping[str, str], name: str) -> float | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as error:
        raise Open311Error(400, f"{name} must be a decimal number") from error


def parse_request(form: Iterable[tuple[str, str]]) -> Open311Report:
    """A POST requests form (all values strings) as a report; raises Open311Error 400."""
    fields: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for name, value in form:
        if name.startswith("attribute[") and name.endswith("]"):
            code = name[len("attribute[") : -1]
            if code not in ATTRIBUTE_CODES:
                raise Open311Error(400, f"attribute[{code}] is not an attribute of this service")
            attributes[code] = value.strip()
        elif name in STANDARD_PARAMETERS:
            fields[name] = value
        else:
            raise Open311Error(400, f"{name} is not a parameter of POST requests")
    service_code = fields.get("service_code", "").strip()
    if not service_code:
        raise Open311Error(400, "service_code is required")
    if service_code not in SERVICE_CODES:
        raise Open311Error(400, f"service_code {service_code} is not a known service")
    lat, lon = _float(fields, "lat"), _float(fields, "long")
    address = fields.get("address_string", "").strip() or None
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long must be given together")
    if lat is None and address is None:
        if fields.get("address_id"):
            raise Open311Error(
                400, "address_id is not supported: send lat and long or address_string"
            )
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    if not fields.get("description", "").strip():
        raise Open311Error(400, "description is required")
    media_url = fields.get("media_url", "").strip() or None
    if media_url is not None and (
        not media_url.startswith(("https://", "http://")) or len(media_url) > MAX_MEDIA_URL
    ):
        raise Open311Error(400, "media_url must be an http(s) URL of at most 2000 characters")
    try:
        report = ReportIn(
            category=Category(service_code),
            severity=attributes.get("severity") or Severity.MEDIUM,
            description=fields["description"],
            location=LocationIn(
                lat=lat,
                lon=lon,
                address=address,
                district=attributes.get("district") or None,
                community=attributes.get("community") or None,
            ),
        )
    except ValidationError as error:
        raise Open311Error(400, _describe(error)) from error
    return Open311Report(report, attributes, media_url, fields.get("account_id") or None)


_PARAMETER_NAMES = {
    "lon": "long",
    "address": "address_string",
    "district": "attribute[district]",
    "severity": "attribute[severity]",
    "community": "attribute[community]",
}


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][-1]) if first["loc"] else "request"
    return f"{_PARAMETER_NAMES.get(field, field)}: {first['msg']}"


def describe_rejection(error: ReportRejectedError) -> str:
    """A report's rejection, naming the POST parameter it concerns."""
    field = str(error.loc[-1])
    return f"{_PARAMETER_NAMES.get(field, field)}: {error.message}"


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 with the city's UTC offset, as the specification requires an offset."""
    return None if value is None else value.astimezone(CITY_TIME_ZONE).isoformat(timespec="seconds")


def client_reporter(client: str) -> Reporter:
    """An Open311 client as a reporter; its id cannot be taken for a volunteer's."""
    return Reporter(reporter_id=f"{CLIENT_PREFIX}{client}", kind="open311-client")


def request_view(
    case: Mapping[str, Any],
    geography: Geography,
    *,
    extensions: bool = False,
    notes: bool = False,
) -> dict[str, Any]:
    """A case as an Open311 service request. `extensions` adds our detailed status with
    the district's and community's names, and `notes` its timeline notes (only for the
    client that filed it). Only notes marked public appear, as status_notes too."""
    location = case.get("location") or {}
    category = case.get("category")
    photos = case.get("photos") or []
    view: dict[str, Any] = {
        "service_request_id": case["_id"],
        "status": "open" if is_open(case["status"]) else "closed",
        "status_notes": case.get("public_note"),
        "service_name": CATEGORY_NAMES[Category(category)][1] if category else None,
        "service_code": category,
        "description": case.get("description"),
        "agency_responsible": case.get("department"),
        "service_notice": None,
        "requested_datetime": timestamp(case.get("reported_at")),
        "updated_datetime": timestamp(case.get("updated_at")),
        "expected_datetime": timestamp(case.get("expected_at")),
        "address": location.get("address"),
        "address_id": None,
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": photos[0]["url"] if photos else None,
    }
    if extensions:
        district = location.get("district")
        area = geography.district(District(district)) if district else None
        community = geography.communities.get(location.get("community_code") or "")
        view["extended_attributes"] = {
            "detailed_status": case["status"],
            "district": district,
            "district_name_zh": area.name_zh if area else None,
            "district_name_en": area.name_en if area else None,
            "community": location.get("community"),
            "community_code": community.code if community else None,
            "community_name_en": community.name_en if community else None,
            "severity": case.get("severity"),
            "duplicate_of": case.get("duplicate_of"),
        }
    if extensions and notes:
        view["extended_attributes"]["notes"] = [
            {"datetime": timestamp(entry["at"]), "status": entry["status"], "note": entry["note"]}
            for entry in case.get("timeline") or []
            if entry.get("note") and entry.get("public")
        ]
    return view


def token_view(case: Mapping[str, Any]) -> dict[str, Any]:
    return {"service_request_id": case["_id"], "token": case["token"]}


def errors(status_code: int, description: str) -> list[dict[str, Any]]:
    return [{"code": status_code, "description": description}]


def to_xml(root: str, items: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """The specification's XML: a list becomes repeated singular elements (services ->
    service, service_requests -> request ...), None an empty element, booleans true/false.
    A character XML cannot carry (whatever a stored text holds) becomes U+FFFD."""
    element = ElementTree.Element(root)
    _fill(element, root, items)
    xml: bytes = ElementTree.tostring(element, encoding="UTF-8", xml_declaration=True)
    return xml


def _fill(element: ElementTree.Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        item_tag = _LIST_ITEMS.get(tag, "item")
        for item in value:
            _fill(ElementTree.SubElement(element, item_tag), item_tag, item)
    elif isinstance(value, dict):
        for key, child in value.items():
            _fill(ElementTree.SubElement(element, key), key, child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("\ufffd", str(value))
