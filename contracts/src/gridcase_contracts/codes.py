"""The domain's codes: categories, severities, districts, measures, statuses and stages."""

from enum import StrEnum
from zoneinfo import ZoneInfo

CITY_TIME_ZONE = ZoneInfo("Asia/Shanghai")
"""Times are stored in UTC; days, weeks, months and years are counted in the city's zone."""

SUPERVISOR_QUEUE = "supervision-office"
"""The department code of cases waiting for a supervisor to route them."""


class Category(StrEnum):
    HOUSING_SAFETY = "housing-safety"
    PUBLIC_SECURITY = "public-security"
    URBAN_MANAGEMENT = "urban-management"
    FIRE_SAFETY = "fire-safety"
    TRAFFIC_SAFETY = "traffic-safety"
    SANITATION = "sanitation"
    EPIDEMIC_PREVENTION = "epidemic-prevention"
    MARKET_SAFETY = "market-safety"
    PUBLIC_SERVICE_OBSTRUCTION = "public-service-obstruction"
    OTHER = "other"


CATEGORY_NAMES: dict[Category, tuple[str, str]] = {
    Category.HOUSING_SAFETY: ("自建房安全", "Self-built housing safety"),
    Category.PUBLIC_SECURITY: ("社会治安", "Public security"),
    Category.URBAN_MANAGEMENT: ("城市管理", "Urban management"),
    Category.FIRE_SAFETY: ("消防安全", "Fire safety"),
    Category.TRAFFIC_SAFETY: ("交通安全", "Traffic safety"),
    Category.SANITATION: ("环境卫生", "Environmental sanitation"),
    Category.EPIDEMIC_PREVENTION: ("疫情防控", "Epidemic prevention"),
    Category.MARKET_SAFETY: ("食品与市场安全", "Food and market safety"),
    Category.PUBLIC_SERVICE_OBSTRUCTION: ("办事难/中梗阻", "Obstruction in public services"),
    Category.OTHER: ("其他", "Other"),
}
"""Chinese and English display names of each category."""


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Measure(StrEnum):
    """Rectification measures named in the source document."""

    RESPONSIBILITY_CONTRACTING = "responsibility-contracting"
    ASSESSMENT_INSPECTION = "assessment-inspection"
    RECTIFICATION_ORDER = "rectification-order"
    SUSPENSION_FOR_RECTIFICATION = "suspension-for-rectification"


class District(StrEnum):
    D01 = "D01"
    D02 = "D02"
    D03 = "D03"
    D04 = "D04"
    D05 = "D05"
    D06 = "D06"
    D07 = "D07"
    D08 = "D08"
    D09 = "D09"
    D10 = "D10"
    D11 = "D11"
    D12 = "D12"


class CaseStatus(StrEnum):
    REPORTED = "reported"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    IN_REMEDIATION = "in_remediation"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"
    REJECTED = "rejected"
    RETURNED = "returned"
    DUPLICATE = "duplicate"
    REOPENED = "reopened"


FINAL_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.DUPLICATE})
"""Statuses in which a case is no longer open."""
REASSIGNABLE_STATUSES = frozenset(
    {
        CaseStatus.REPORTED,
        CaseStatus.ASSIGNED,
        CaseStatus.ACCEPTED,
        CaseStatus.IN_REMEDIATION,
        CaseStatus.RETURNED,
        CaseStatus.REOPENED,
    }
)
"""Statuses a CaseReassigned moves to assigned (not once resolved): assignment reassigns only
these, remediation-tracking's lifecycle follows."""


class Stage(StrEnum):
    """Stages that carry a due date; overdue and escalation are per stage."""

    ACCEPT = "accept"
    FIRST_RESPONSE = "first_response"
    RECTIFICATION = "rectification"
    RESOLVE = "resolve"
    VERIFY = "verify"


class Service(StrEnum):
    INTAKE = "intake"
    ASSIGNMENT = "assignment"
    REMEDIATION_TRACKING = "remediation-tracking"
    STATISTICS = "statistics"


class Channel(StrEnum):
    """How a report reached intake."""

    APP = "app"
    OPEN311 = "open311"
