"""Payloads and event types of the case lifecycle, one producing service per type."""

from datetime import datetime
from typing import Annotated, ClassVar, Literal, Self, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, Field, TypeAdapter, model_validator

from gridcase_contracts.codes import (
    Category,
    Channel,
    District,
    Measure,
    Service,
    Severity,
    Stage,
)
from gridcase_contracts.envelope import Contract, Envelope

ShortText = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
ActorId = Annotated[str, Field(min_length=1, max_length=128)]


# --- payload parts ------------------------------------------------------------------


class Location(Contract):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)
    district: District
    community: str | None = Field(default=None, max_length=200)
    community_code: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$",
        description="The community's code in the city's boundaries, when it is known.",
    )

    @model_validator(mode="after")
    def _coordinates_or_address(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        if self.lat is None and not self.address:
            raise ValueError("a location needs lat and lon, or an address")
        return self


class PhotoRef(Contract):
    photo_id: str = Field(min_length=1, max_length=128)
    url: str = Field(min_length=1, max_length=2000)
    content_type: str | None = Field(default=None, max_length=64)
    size: int | None = Field(default=None, ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Reporter(Contract):
    reporter_id: ActorId
    kind: Literal["volunteer", "open311-client"] = "volunteer"
    name: str | None = Field(default=None, max_length=200)


class StageDue(Contract):
    """Due dates per stage, computed by assignment on the working calendar."""

    accept: AwareDatetime
    first_response: AwareDatetime
    resolve: AwareDatetime
    verify: AwareDatetime


class Actor(Contract):
    """Who performed an action: user id and role, with their department when a handler, and
    the display name their token gave (what people read in a timeline; the id is what counts)."""

    actor_id: ActorId
    role: Literal["volunteer", "handler", "supervisor", "admin", "system"]
    department: Code | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


# --- payloads -----------------------------------------------------------------------


class CaseReportedPayload(Contract):
    category: Category
    severity: Severity
    description: LongText
    location: Location
    reporter: Reporter
    team: Code | None = None
    photos: list[PhotoRef] = Field(default_factory=list, max_length=5)
    channel: Channel = Channel.APP
    attributes: dict[str, str] = Field(default_factory=dict)


class CaseAssignedPayload(Contract):
    department: Code
    co_departments: list[Code] = Field(default_factory=list)
    handler: ActorId | None = Field(default=None, description="None: the department queue.")
    due: StageDue
    priority: int = Field(default=0, ge=0)
    reason: Literal["catalogue", "fallback", "return-reroute", "reopen", "split"] = "catalogue"
    returns: int = Field(default=0, ge=0, description="How often the case was returned so far.")


class CaseReassignedPayload(Contract):
    from_department: Code | None
    department: Code
    handler: ActorId | None = None
    due: StageDue | None = None
    reason: ShortText
    by: Actor
    supervisor_queue: bool = Field(
        default=False, description="True when the case waits for a supervisor to route it."
    )


class CaseMarkedDuplicatePayload(Contract):
    primary_case_id: str
    distance_m: float = Field(ge=0)
    cluster_size: int = Field(ge=2, description="Cases in the primary's cluster, primary included.")
    primary_priority: int = Field(ge=0)


class CaseSplitPayload(Contract):
    """A supervisor undid a wrong duplicate merge."""

    primary_case_id: str
    reason: ShortText
    by: Actor


class CaseEscalatedPayload(Contract):
    level: int = Field(ge=1, le=3)
    stage: Stage
    target: Literal["handler", "department-head", "supervision"]
    department: Code
    handler: ActorId | None = None
    notice: ShortText


class CaseAcceptedPayload(Contract):
    by: Actor


class RectificationOrderedPayload(Contract):
    measure: Measure
    deadline: AwareDatetime
    responsible_party: ShortText
    note: LongText | None = None
    by: Actor


class ProgressRecordedPayload(Contract):
    note: LongText
    photos: list[PhotoRef] = Field(default_factory=list, max_length=5)
    by: Actor


class CaseResolvedPayload(Contract):
    note: LongText
    photos: list[PhotoRef] = Field(default_factory=list, max_length=5)
    by: Actor


class CaseVerifiedPayload(Contract):
    reason: LongText | None = None
    by: Actor


class CaseReopenedPayload(Contract):
    reason: LongText
    by: Actor


class CaseClosedPayload(Contract):
    note: LongText | None = None
    by: Actor


class CaseRejectedPayload(Contract):
    reason: LongText
    by: Actor


class CaseReturnedPayload(Contract):
    department: Code
    reason: LongText
    by: Actor


class CaseOverduePayload(Contract):
    stage: Stage
    due_at: AwareDatetime


class CaseConfirmedPayload(Contract):
    """The reporting volunteer's verdict on the fix."""

    satisfied: bool
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: LongText | None = None
    by: Actor


# --- events ---------------------------------------------------------------------------


class CaseReported(Envelope):
    producer_service: ClassVar[Service] = Service.INTAKE
    event_type: Literal["CaseReported"] = "CaseReported"
    payload: CaseReportedPayload


class CaseAssigned(Envelope):
    producer_service: ClassVar[Service] = Service.ASSIGNMENT
    event_type: Literal["CaseAssigned"] = "CaseAssigned"
    payload: CaseAssignedPayload


class CaseReassigned(Envelope):
    producer_service: ClassVar[Service] = Service.ASSIGNMENT
    event_type: Literal["CaseReassigned"] = "CaseReassigned"
    payload: CaseReassignedPayload


class CaseMarkedDuplicate(Envelope):
    producer_service: ClassVar[Service] = Service.ASSIGNMENT
    event_type: Literal["CaseMarkedDuplicate"] = "CaseMarkedDuplicate"
    payload: CaseMarkedDuplicatePayload


class CaseSplit(Envelope):
    producer_service: ClassVar[Service] = Service.ASSIGNMENT
    event_type: Literal["CaseSplit"] = "CaseSplit"
    payload: CaseSplitPayload


class CaseEscalated(Envelope):
    producer_service: ClassVar[Service] = Service.ASSIGNMENT
    event_type: Literal["CaseEscalated"] = "CaseEscalated"
    payload: CaseEscalatedPayload


class CaseAccepted(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseAccepted"] = "CaseAccepted"
    payload: CaseAcceptedPayload


class RectificationOrdered(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["RectificationOrdered"] = "RectificationOrdered"
    payload: RectificationOrderedPayload


class ProgressRecorded(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["ProgressRecorded"] = "ProgressRecorded"
    payload: ProgressRecordedPayload


class CaseResolved(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseResolved"] = "CaseResolved"
    payload: CaseResolvedPayload


class CaseVerified(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseVerified"] = "CaseVerified"
    payload: CaseVerifiedPayload


class CaseReopened(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseReopened"] = "CaseReopened"
    payload: CaseReopenedPayload


class CaseClosed(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseClosed"] = "CaseClosed"
    payload: CaseClosedPayload


class CaseRejected(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseRejected"] = "CaseRejected"
    payload: CaseRejectedPayload


class CaseReturned(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseReturned"] = "CaseReturned"
    payload: CaseReturnedPayload


class CaseOverdue(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseOverdue"] = "CaseOverdue"
    payload: CaseOverduePayload


class CaseConfirmed(Envelope):
    producer_service: ClassVar[Service] = Service.REMEDIATION_TRACKING
    event_type: Literal["CaseConfirmed"] = "CaseConfirmed"
    payload: CaseConfirmedPayload


EVENT_TYPES: tuple[type[Envelope], ...] = (
    CaseReported,
    CaseAssigned,
    CaseReassigned,
    CaseMarkedDuplicate,
    CaseSplit,
    CaseEscalated,
    CaseAccepted,
    RectificationOrdered,
    ProgressRecorded,
    CaseResolved,
    CaseVerified,
    CaseReopened,
    CaseClosed,
    CaseRejected,
    CaseReturned,
    CaseOverdue,
    CaseConfirmed,
)

CaseEvent = Annotated[
    CaseReported
    | CaseAssigned
    | CaseReassigned
    | CaseMarkedDuplicate
    | CaseSplit
    | CaseEscalated
    | CaseAccepted
    | RectificationOrdered
    | ProgressRecorded
    | CaseResolved
    | CaseVerified
    | CaseReopened
    | CaseClosed
    | CaseRejected
    | CaseReturned
    | CaseOverdue
    | CaseConfirmed,
    Field(discriminator="event_type"),
]

EVENTS_BY_NAME: dict[str, type[Envelope]] = {cls.__name__: cls for cls in EVENT_TYPES}
PRODUCER_OF: dict[str, Service] = {cls.__name__: cls.producer_service for cls in EVENT_TYPES}

case_event_adapter: TypeAdapter[CaseEvent] = TypeAdapter(CaseEvent)


E = TypeVar("E", bound=Envelope)


def new_event(
    event_class: type[E],
    *,
    case_id: str,
    payload: Contract,
    occurred_at: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: UUID | None = None,
) -> E:
    """Builds an event of `event_class` with a fresh id, its producer and current version."""
    return event_class(
        event_id=event_id or uuid4(),
        event_type=event_class.__name__,
        schema_version=event_class.current_version,
        case_id=case_id,
        occurred_at=occurred_at,
        producer=event_class.producer_service,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=payload,
    )
