"""What the repository stores per case, independent of the database.

The ledger is a hash chain per case. Each entry carries `prev_hash`, the hash of the entry
before it (GENESIS for the first), and `hash`, the SHA-256 (hex) of its canonical bytes:
the UTF-8 JSON of the object {event_id, event_type, occurred_at, event, prev_hash} with
keys sorted, no whitespace (separators "," and ":") and non-ASCII characters kept as they
are. `event` is the event's JSON exactly as stored, so the hash covers every byte of it.
Editing, removing or reordering an entry breaks the chain at that entry; a replay of the
topic into an empty database rebuilds the same hashes from the same events."""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gridcase_contracts.codec import decode
from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.case import Case

GENESIS = "0" * 64
"""The `prev_hash` of a case's first ledger entry."""


def entry_hash(event_id: str, event_type: str, occurred_at: str, event: str, prev_hash: str) -> str:
    """The SHA-256 (hex) of an entry's canonical bytes (see the module docstring)."""
    canonical = json.dumps(
        {
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": occurred_at,
            "event": event,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    """One event of the case as it was received, byte for byte, and its link in the chain.
    `hash` is None only in ledgers written before the chain existed (see `chained`)."""

    event_id: str
    event_type: str
    occurred_at: datetime
    json: str
    prev_hash: str = GENESIS
    hash: str | None = None

    @classmethod
    def of(cls, event: Envelope, prev_hash: str) -> "LedgerEntry":
        entry = cls(
            str(event.event_id),
            event.event_type,
            event.occurred_at,
            event.model_dump_json(),
            prev_hash,
        )
        return entry.sealed()

    def computed_hash(self) -> str:
        return entry_hash(
            self.event_id, self.event_type, self.occurred_at.isoformat(), self.json, self.prev_hash
        )

    def sealed(self) -> "LedgerEntry":
        """The entry with its own hash computed from its contents and `prev_hash`."""
        return LedgerEntry(
            self.event_id,
            self.event_type,
            self.occurred_at,
            self.json,
            self.prev_hash,
            self.computed_hash(),
        )

    def event(self) -> Envelope:
        return decode(self.json.encode())

    def to_document(self) -> dict[str, Any]:
        document = {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "occurred_at": self.occurred_at.isoformat(),
            "event": self.json,
        }
        if self.hash is not None:
            document |= {"prev_hash": self.prev_hash, "hash": self.hash}
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "LedgerEntry":
        return cls(
            document["event_id"],
            document["event_type"],
            datetime.fromisoformat(document["occurred_at"]),
            document["event"],
            document.get("prev_hash", GENESIS),
            document.get("hash"),
        )


def head(ledger: Sequence[LedgerEntry]) -> str:
    """The hash the next entry links to."""
    return (ledger[-1].hash if ledger else None) or GENESIS


def linked(ledger: Sequence[LedgerEntry]) -> bool:
    """True when every entry carries its hash (the ledger was written with the chain)."""
    return all(entry.hash is not None for entry in ledger)


def chained(ledger: Iterable[LedgerEntry]) -> tuple[LedgerEntry, ...]:
    """The entries linked afresh, in their order: what a ledger written before the chain
    existed becomes (the migration); a ledger whose chain holds is returned unchanged."""
    linked: list[LedgerEntry] = []
    previous = GENESIS
    for entry in ledger:
        sealed = LedgerEntry(
            entry.event_id, entry.event_type, entry.occurred_at, entry.json, previous
        ).sealed()
        linked.append(sealed)
        previous = sealed.hash or GENESIS
    return tuple(linked)


def with_events(
    ledger: Sequence[LedgerEntry], events: Iterable[Envelope]
) -> tuple[LedgerEntry, ...]:
    """`ledger` with `events` linked onto its end (an unlinked ledger is linked first)."""
    entries = list(ledger if linked(ledger) else chained(ledger))
    previous = head(entries)
    for event in events:
        entry = LedgerEntry.of(event, previous)
        entries.append(entry)
        previous = entry.hash or GENESIS
    return tuple(entries)


@dataclass(frozen=True)
class ChainBreak:
    """The first entry (1-based) where a case's chain does not hold, and why."""

    entry: int
    reason: str


def first_break(ledger: Sequence[LedgerEntry], version: int) -> ChainBreak | None:
    """Recomputes the chain; None when every link holds and the ledger has `version`
    entries (a removed last entry shows there)."""
    previous = GENESIS
    for number, entry in enumerate(ledger, 1):
        if entry.hash is None:
            return ChainBreak(number, "the entry has no hash")
        if entry.prev_hash != previous:
            return ChainBreak(number, "prev_hash is not the hash of the entry before")
        if entry.computed_hash() != entry.hash:
            return ChainBreak(number, "the entry's contents do not match its hash")
        previous = entry.hash
    if len(ledger) != version:
        return ChainBreak(len(ledger), f"the ledger has {len(ledger)} entries, version {version}")
    return None


@dataclass(frozen=True)
class CaseRecord:
    """A case's projection, its version (the number of events in its ledger) and ledger."""

    case: Case
    version: int
    ledger: tuple[LedgerEntry, ...] = field(default=())

    def has(self, event_id: str) -> bool:
        return any(entry.event_id == event_id for entry in self.ledger)
