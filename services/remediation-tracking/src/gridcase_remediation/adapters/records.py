"""What the repository stores per case, independent of the database."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gridcase_contracts.codec import decode
from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.case import Case


@dataclass(frozen=True)
class LedgerEntry:
    """One event of the case as it was received, byte for byte."""

    event_id: str
    event_type: str
    occurred_at: datetime
    json: str

    @classmethod
    def of(cls, event: Envelope) -> "LedgerEntry":
        return cls(
            str(event.event_id), event.event_type, event.occurred_at, event.model_dump_json()
        )

    def event(self) -> Envelope:
        return decode(self.json.encode())

    def to_document(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "occurred_at": self.occurred_at.isoformat(),
            "event": self.json,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "LedgerEntry":
        return cls(
            document["event_id"],
            document["event_type"],
            datetime.fromisoformat(document["occurred_at"]),
            document["event"],
        )


@dataclass(frozen=True)
class CaseRecord:
    """A case's projection, its version (the number of events in its ledger) and ledger."""

    case: Case
    version: int
    ledger: tuple[LedgerEntry, ...] = field(default=())

    def has(self, event_id: str) -> bool:
        return any(entry.event_id == event_id for entry in self.ledger)
