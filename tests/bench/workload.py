"""The one report every stage of the benchmark sends: a ~1 KB volunteer report, as intake's
POST /v1/reports body and as the CaseReported event intake would publish for it."""

import functools
import json
from datetime import UTC, datetime

from gridcase_contracts.codes import Category, District, Severity
from gridcase_contracts.events import (
    CaseReported,
    CaseReportedPayload,
    Location,
    Reporter,
    new_event,
)
from gridcase_intake.domain.reports import ReportIn as ReportModel
from gridcase_runtime.oidc import TokenCache
from gridcase_runtime.settings import ServiceSettings

CATEGORIES = [c.value for c in Category]
DISTRICTS = [d.value for d in District]
SEVERITIES = [s.value for s in Severity]
DESCRIPTION = (
    "Cracked load-bearing wall on the ground floor of a four-storey self-built house; "
    "the crack runs diagonally from the window corner to the floor slab and has widened "
    "since last month. Tenants on the upper floors were not told. Residents say a fifth "
    "floor is being added without a permit and building materials are stacked on the roof. "
    "The stairwell lacks a handrail, the corridor is blocked with electric scooters charging "
    "overnight, and the only exit door is padlocked after 22:00. Neighbours reported loose "
    "plaster falling onto the lane used by schoolchildren every morning. Photos of the crack "
    "and of the roof works were taken from the lane. The landlord could not be reached by "
    "phone; the community office keeps the contact details of the owner. Please inspect soon."
)
PLASTIC = 1.324717957244746
"""The plastic number g: the points (n / g, n / g²) mod 1 cover a square evenly (the R2
sequence). With the golden ratio φ for both axes, nφ² = nφ + n put every report on the
square's diagonal, a few metres from the last ones, so nearly all were duplicates."""

__all__ = ["ReportModel", "case_reported", "report_body", "volunteer_tokens"]
"""ReportModel: intake's own request model, which the no-op baseline validates too."""


def report_fields(sequence: int) -> dict[str, object]:
    """The body of report number `sequence`: every report has its own place (a low-discrepancy
    spread over a ~40 km square, so duplicates are as rare as in real life; intake finds its
    district and community), and categories and severities rotate."""
    spread_lat = (0.5 + sequence / PLASTIC) % 1.0
    spread_lon = (0.5 + sequence / PLASTIC**2) % 1.0
    return {
        "category": CATEGORIES[sequence % len(CATEGORIES)],
        "severity": SEVERITIES[sequence % len(SEVERITIES)],
        "description": DESCRIPTION,
        "location": {
            "lat": round(26.70 + 0.4 * spread_lat, 6),
            "lon": round(112.40 + 0.4 * spread_lon, 6),
            "address": f"{sequence % 997 + 1} Riverside Road, building {sequence % 31 + 1}",
        },
    }


def report_body(sequence: int) -> bytes:
    return json.dumps(report_fields(sequence), separators=(",", ":")).encode()


def case_reported(sequence: int, case_id: str) -> CaseReported:
    """The CaseReported event intake would publish for report `sequence`."""
    fields = report_fields(sequence)
    location = fields["location"]
    assert isinstance(location, dict)
    return new_event(
        CaseReported,
        case_id=case_id,
        occurred_at=datetime.now(UTC),
        payload=CaseReportedPayload(
            category=Category(str(fields["category"])),
            severity=Severity(str(fields["severity"])),
            description=str(fields["description"]),
            location=Location(**location, district=DISTRICTS[sequence % len(DISTRICTS)]),
            reporter=Reporter(reporter_id=f"bench-volunteer-{sequence % 5000}"),
            team=f"team-{sequence % 40 + 1:02d}",
        ),
    )


@functools.cache
def _tokens() -> TokenCache:
    return TokenCache(ServiceSettings())


def volunteer_tokens() -> list[str]:
    """Bearer tokens of the realm's twenty demo volunteers, from Keycloak (the issuer in
    GRIDCASE_JWT_ISSUER), kept until shortly before they expire so that load steps reuse
    them. The benchmark's services run without a per-reporter rate limit that twenty people
    would hit."""
    return [_tokens().user(f"v-{number:03d}", "demo-volunteer") for number in range(1, 21)]
