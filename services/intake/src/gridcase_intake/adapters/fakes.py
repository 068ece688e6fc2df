"""In-memory adapters for unit tests (the real ones are tested on the real servers)."""

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import CaseEvent, CaseReported
from gridcase_intake.domain.api_keys import ApiKeyRecord
from gridcase_intake.domain.idempotency import KeyRecord, KeyState, StoredResponse
from gridcase_intake.domain.projection import change_of
from gridcase_intake.domain.rate_limit import window_of
from gridcase_runtime.kafka_producer import PublishError
from gridcase_runtime.photos import CheckedPhoto, StoredPhoto


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[Envelope] = []
        self.failing = False

    async def publish(self, event: Envelope, *, ingest_ts_ns: int | None = None) -> None:
        if self.failing:
            raise PublishError("broker unreachable (fake)")
        self.published.append(event)


class FakeCaseViews:
    """The projection's status, fields and notes per case, each event applied once."""

    def __init__(self) -> None:
        self.cases: dict[str, dict[str, Any]] = {}
        self.applied: dict[str, set[str]] = {}

    async def apply(self, event: CaseEvent, *, accepted_here: bool = False) -> bool:
        applied = self.applied.setdefault(event.case_id, set())
        if str(event.event_id) in applied:
            return False
        applied.add(str(event.event_id))
        change = change_of(event)
        case = self.cases.setdefault(event.case_id, {"_id": event.case_id, "timeline": []})
        if change.report is not None:
            # its status and time only count for a case the view has not seen yet
            case.update(change.report)
            case.setdefault("status", "reported")
            case.setdefault("updated_at", event.occurred_at)
        else:
            case.update(change.fields, updated_at=event.occurred_at)
            if change.status is not None:
                case["status"] = change.status.value
            if change.note is not None:
                case["last_note"] = change.note
        entry = change.timeline_entry(event)
        if entry is not None:
            case["timeline"].append(entry)
        return True

    async def apply_batch(self, events: Sequence[CaseEvent]) -> int:
        applied = [await self.apply(event) for event in events]
        return sum(
            not new and not isinstance(event, CaseReported)
            for event, new in zip(events, applied, strict=True)
        )

    async def get(self, case_id: str) -> dict[str, Any] | None:
        return self.cases.get(case_id)

    async def by_token(self, token: str) -> dict[str, Any] | None:
        return next((case for case in self.cases.values() if case["token"] == token), None)

    async def of_reporter(
        self, reporter_id: str, *, kind: str, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        own = [
            case
            for case in self._newest_first()
            if (case["reporter_id"], case["reporter_kind"]) == (reporter_id, kind)
        ]
        return own[skip : skip + limit], len(own)

    async def search(
        self,
        *,
        case_ids: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        channel: str | None = None,
        reported_from: datetime | None = None,
        reported_until: datetime | None = None,
        skip: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        found = [
            case
            for case in self._newest_first()
            if (case_ids is None or case["_id"] in case_ids)
            and (categories is None or case["category"] in categories)
            and (statuses is None or case["status"] in statuses)
            and (channel is None or case["channel"] == channel)
            and (reported_from is None or case["reported_at"] >= reported_from)
            and (reported_until is None or case["reported_at"] <= reported_until)
        ]
        return found[skip : skip + limit]

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.cases.values(), key=lambda case: case["reported_at"], reverse=True)


class FakeIdempotencyKeys:
    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}

    async def find(self, key_id: str) -> KeyRecord | None:
        return self.records.get(key_id)

    async def insert(self, record: KeyRecord) -> KeyRecord | None:
        if record.key_id in self.records:
            return self.records[record.key_id]
        self.records[record.key_id] = record
        return None

    async def take_over(
        self, record: KeyRecord, attempt: str, lease_until: datetime
    ) -> KeyRecord | None:
        current = self.records.get(record.key_id)
        if current is None or (current.attempt, current.state) != (record.attempt, record.state):
            return None
        taken = replace(current, state=KeyState.IN_FLIGHT, attempt=attempt, lease_until=lease_until)
        self.records[record.key_id] = taken
        return taken

    async def complete(self, key_id: str, attempt: str, response: StoredResponse) -> None:
        current = self.records[key_id]
        if current.attempt == attempt:
            self.records[key_id] = replace(current, state=KeyState.COMPLETED, response=response)

    async def release(self, key_id: str, attempt: str, now: datetime) -> None:
        current = self.records[key_id]
        if current.attempt == attempt and current.state == KeyState.IN_FLIGHT:
            self.records[key_id] = replace(current, state=KeyState.RELEASED, lease_until=now)

    async def sweep(self, now: datetime) -> int:
        expired = [
            key
            for key, record in self.records.items()
            if record.expires_at < now and record.lease_until < now
        ]
        for key in expired:
            del self.records[key]
        return len(expired)


class FakePhotos:
    def __init__(self) -> None:
        self.saved: dict[str, tuple[StoredPhoto, bytes]] = {}

    async def save(
        self, photo: CheckedPhoto, *, owner: str, photo_id: str | None = None
    ) -> StoredPhoto:
        stored = StoredPhoto(
            photo_id or "p", photo.content_type, len(photo.data), photo.sha256, owner
        )
        self.saved[stored.photo_id] = (stored, photo.data)
        return stored

    async def load(self, photo_id: str) -> tuple[StoredPhoto, bytes] | None:
        return self.saved.get(photo_id)


class FakeRateLimits:
    """Fixed-window counts in a dict, as MongoRateLimits keeps them in the database."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: dict[str, tuple[float, int]] = {}

    async def acquire(self, key: str, limit: int) -> float | None:
        now = self.clock()
        window = window_of(key, now)
        end, count = self.counts.get(window.document_id, (window.end, 0))
        self.counts[window.document_id] = (end, count + 1)
        return None if count + 1 <= limit else end - now

    async def refund(self, key: str) -> None:
        window = window_of(key, self.clock())
        end, count = self.counts.get(window.document_id, (window.end, 0))
        if count > 0:
            self.counts[window.document_id] = (end, count - 1)

    async def sweep(self, now: datetime) -> int:
        ended = [key for key, (end, _) in self.counts.items() if end < now.timestamp()]
        for key in ended:
            del self.counts[key]
        return len(ended)


class FakeApiKeys:
    def __init__(self) -> None:
        self.records: dict[str, ApiKeyRecord] = {}

    async def insert(self, record: ApiKeyRecord) -> None:
        self.records[record.key_id] = record

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        return self.records.get(key_id)

    async def all(self) -> list[ApiKeyRecord]:
        return sorted(self.records.values(), key=lambda record: record.created_at)

    async def revoke(self, key_id: str, at: datetime) -> ApiKeyRecord | None:
        record = self.records.get(key_id)
        if record is not None and record.revoked_at is None:
            record = self.records[key_id] = replace(record, revoked_at=at)
        return record
