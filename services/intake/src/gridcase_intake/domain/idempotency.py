"""Idempotency-Key rules (IETF httpapi idempotency-key draft), without storage.

A key is scoped to its caller and bound to the fingerprint of the first request's payload.
Before producing, the key is recorded "in flight" together with the case id, event id and
time the request will use; a retry after a crash or a failed publish re-sends exactly that
event (same event id), so consumers, which deduplicate by event id, never see two cases.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import orjson

_KEY = re.compile(r'^"?([\x21\x23-\x7e]{1,255})"?$')


class KeyState(StrEnum):
    IN_FLIGHT = "in_flight"
    RELEASED = "released"
    """The attempt failed before Kafka acknowledged; a retry re-sends the reserved event."""
    COMPLETED = "completed"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    media_type: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reservation:
    """The identities a keyed request uses, fixed on its first attempt."""

    case_id: str
    event_id: UUID
    occurred_at: datetime


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    fingerprint: str
    reservation: Reservation
    state: KeyState
    attempt: str
    """Id of the attempt that holds (or last held) the key."""
    lease_until: datetime
    expires_at: datetime
    response: StoredResponse | None = None


class Verdict(StrEnum):
    REPLAY = "replay"
    """Completed before: answer with the stored response."""
    CONFLICT = "conflict"
    """Another attempt with this key is in flight: 409."""
    MISMATCH = "mismatch"
    """The key was used with another payload: 422."""
    RESUME = "resume"
    """An earlier attempt failed or crashed: take the key over and re-send its event."""


def parse_key(header: str) -> str:
    """The key from an Idempotency-Key header (a structured-field string; the bare form is
    accepted too). Raises ValueError when it is empty, too long or not printable ASCII."""
    match = _KEY.match(header.strip())
    if match is None:
        raise ValueError("Idempotency-Key must be 1-255 printable ASCII characters")
    return match.group(1)


def key_id(scope: str, key: str) -> str:
    """Keys belong to their caller: two callers may use the same key independently."""
    return f"{scope}|{key}"


def fingerprint(route: str, content: object, attachments: list[bytes] | None = None) -> str:
    """A digest of what the request asks for: its route, canonical JSON content (sorted
    keys) and the bytes of every attachment, independent of multipart boundaries."""
    digest = hashlib.sha256(route.encode())
    digest.update(orjson.dumps(content, option=orjson.OPT_SORT_KEYS))
    for attachment in attachments or []:
        digest.update(hashlib.sha256(attachment).digest())
    return digest.hexdigest()


def judge(existing: KeyRecord, request_fingerprint: str, now: datetime) -> Verdict:
    """What to do with a request whose key is already recorded."""
    if existing.fingerprint != request_fingerprint:
        return Verdict.MISMATCH
    if existing.state == KeyState.COMPLETED:
        return Verdict.REPLAY
    if existing.state == KeyState.IN_FLIGHT and existing.lease_until > now:
        return Verdict.CONFLICT
    return Verdict.RESUME
