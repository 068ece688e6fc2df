"""What a volunteer may submit, and how a submission becomes a CaseReported payload."""

import re
import secrets
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gridcase_contracts.codes import CITY_TIME_ZONE, Category, Channel, District, Severity
from gridcase_contracts.events import CaseReportedPayload, Location, PhotoRef, Reporter
from gridcase_intake.domain.geography import Geography

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CASE_ID_FORMAT = re.compile(rf"^GC-\d{{8}}-[{CROCKFORD}]{{8}}$")
MAX_DESCRIPTION = 4000
_TAG_OPENING = re.compile(r"<\s*+/?+\s*+[A-Za-z!?]")
_ENTITY = re.compile(r"&(?:[A-Za-z]++|#\d++|#x[0-9A-Fa-f]++);")
_CONTROL = re.compile(r"[\x00-\x1f]")
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def new_case_id(now: datetime) -> str:
    """GC-YYYYMMDD-XXXXXXXX: the city's date and 8 random Crockford base32 characters."""
    day = now.astimezone(CITY_TIME_ZONE).strftime("%Y%m%d")
    return f"GC-{day}-{''.join(secrets.choice(CROCKFORD) for _ in range(8))}"


def photo_id(case_id: str, number: int) -> str:
    """The id of a case's `number`th photo (from 1); derived from the case id, so a retried
    request stores the same photos."""
    return f"{case_id}-p{number}"


def case_of_photo(photo_id: str) -> str | None:
    """The case id a photo id was derived from (None if it is not such an id)."""
    case_id, separator, number = photo_id.rpartition("-p")
    if not separator or not number.isdigit() or not CASE_ID_FORMAT.match(case_id):
        return None
    return case_id


def trimmed(value: str) -> str:
    """`value` without surrounding whitespace; refuses an empty one."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def has_markup(value: str) -> bool:
    """Whether `value` holds an HTML/XML tag (`<name`, `</`, `<!` or `<?` with a `>` after
    it) or a character entity. Linear time: no quantifier backtracks, and the first tag
    opening has the most text after it, so it alone decides whether a `>` follows."""
    opening = _TAG_OPENING.search(value)
    if opening is not None and value.find(">", opening.end()) >= 0:
        return True
    return _ENTITY.search(value) is not None


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why `value` is not plain text, or None. C0 control characters are refused (tab,
    line feed and carriage return only in `multiline` text), and so is markup."""
    control = (_CONTROL_BUT_LINE_BREAKS if multiline else _CONTROL).search(value)
    if control is not None:
        return f"control character U+{ord(control.group()):04X} is not allowed"
    if has_markup(value):
        return "markup is not allowed (HTML tags or entities)"
    return None


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)
    district: District | None = Field(
        default=None, description="Filled in from lat and lon when not given."
    )
    community: str | None = Field(
        default=None, max_length=200, description="Filled in from lat and lon when not given."
    )

    @field_validator("address", "community")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        return None if value is None else trimmed(value)

    @model_validator(mode="after")
    def _coordinates_together(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None


class ReportIn(BaseModel):
    """A volunteer's report as the native API takes it; unknown fields are refused. Its
    text is checked apart (`check_text`), once the caller passed the rate limit."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    severity: Severity
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    location: LocationIn

    @field_validator("description")
    @classmethod
    def _trimmed_description(cls, value: str) -> str:
        return trimmed(value)


class ReportRejectedError(ValueError):
    """A submission that fails a check beyond its schema; `loc` names the field."""

    def __init__(self, loc: tuple[str | int, ...], message: str, kind: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.kind = kind


def check_text(report: ReportIn) -> None:
    """Refuses control characters and markup in a report's free text, naming the field.
    The description may span lines; address and community are single lines."""
    fields: tuple[tuple[tuple[str, ...], str | None, bool], ...] = (
        (("description",), report.description, True),
        (("location", "address"), report.location.address, False),
        (("location", "community"), report.location.community, False),
    )
    for loc, value, multiline in fields:
        problem = None if value is None else text_problem(value, multiline=multiline)
        if problem is not None:
            raise ReportRejectedError(loc, problem, "value_error.text")


class LocationConflictError(ReportRejectedError):
    """The point contradicts the given district, or lies outside the city."""


def locate(
    location: LocationIn,
    photo_gps: list[tuple[float, float] | None],
    geography: Geography,
    fallback_district: District | None = None,
) -> Location:
    """The contract location: the report's own coordinates, else the first photo's EXIF GPS,
    else its address alone; the district and community come from the point when there is
    one. Raises ReportRejectedError when the location is missing, lies outside every
    district (without a fallback district), or contradicts the given district."""
    lat, lon = location.lat, location.lon
    if lat is None:
        found = next((gps for gps in photo_gps if gps is not None), None)
        if found is not None:
            lat, lon = found
    if lat is None or lon is None:
        return _by_address(location, geography)
    place = geography.place_of(lat, lon)
    if place is None:
        if fallback_district is None:
            raise LocationConflictError(
                ("location",),
                f"the point ({lat}, {lon}) lies outside every district of the city",
                "value_error.location.outside",
            )
        district, community, community_code = fallback_district, location.community, None
    else:
        district = place.district.district
        if location.district is not None and location.district != district:
            raise LocationConflictError(
                ("location", "district"),
                f"district {location.district} was given, but the point ({lat}, {lon}) "
                f"lies in district {district} ({place.district.name_en})",
                "value_error.location.district_mismatch",
            )
        area = place.community
        community = location.community or (area.name_zh if area else None)
        community_code = area.code if area else None
    return Location(
        lat=lat,
        lon=lon,
        address=location.address,
        district=district,
        community=community,
        community_code=community_code,
    )


def _by_address(location: LocationIn, geography: Geography) -> Location:
    """A location known by its address only: the report must name its district."""
    if not location.address:
        raise ReportRejectedError(
            ("location",),
            "a location needs lat and lon, an address, or a photo with GPS coordinates",
            "value_error.location",
        )
    if location.district is None:
        raise ReportRejectedError(
            ("location", "district"),
            "a location without lat and lon needs its district (D01 to D12)",
            "value_error.location.district_missing",
        )
    named = location.community and geography.community_named(location.district, location.community)
    return Location(
        address=location.address,
        district=location.district,
        community=location.community,
        community_code=named.code if named else None,
    )


def reported_payload(
    report: ReportIn,
    *,
    location: Location,
    reporter: Reporter,
    team: str | None,
    channel: Channel,
    attributes: dict[str, str] | None = None,
    photos: list[PhotoRef] | None = None,
) -> CaseReportedPayload:
    return CaseReportedPayload(
        category=report.category,
        severity=report.severity,
        description=report.description,
        location=location,
        reporter=reporter,
        team=team,
        photos=photos or [],
        channel=channel,
        attributes=attributes or {},
    )
