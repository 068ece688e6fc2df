"""The envelope every case event travels in."""

from typing import Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from gridcase_contracts.codes import Service

CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{5,63}$"


class Contract(BaseModel):
    """Base of every contract model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Envelope(Contract):
    """Fields common to every event; subclasses fix `event_type` and type `payload`."""

    producer_service: ClassVar[Service]
    current_version: ClassVar[int] = 1

    event_id: UUID = Field(description="Unique id of the event; the idempotency key of consumers.")
    event_type: str
    schema_version: int = Field(ge=1)
    case_id: str = Field(pattern=CASE_ID_PATTERN)
    occurred_at: AwareDatetime
    producer: Service
    correlation_id: str | None = Field(
        default=None, max_length=128, description="Id shared by every event of one user request."
    )
    causation_id: str | None = Field(
        default=None, max_length=128, description="event_id of the event that caused this one."
    )
    payload: Any

    @model_validator(mode="after")
    def _produced_by_its_owner(self) -> "Envelope":
        if self.producer != self.producer_service:
            raise ValueError(
                f"{self.event_type} is produced by {self.producer_service.value}, "
                f"not {self.producer.value}"
            )
        return self
