"""Everything intake stores in its own MongoDB database (every motor call lives here).

- `case_views`: one document per case (`_id` = case id), intake's projection of the case
  events; `event_ids` makes applying an event idempotent.
- `idempotency_keys`: one document per (caller, Idempotency-Key); expired by `sweep`.
- `rate_limits`: one counter per caller and minute; expired by `sweep`.
- `api_keys`: one document per Open311 api key (`_id` = key id): its client name and a
  salted hash of its secret, never the key; read on every use, so a revocation holds at once
  on every replica.
- `photos` / `photo_chunks`: the runtime's PhotoStore.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from gridcase_contracts.codes import CaseStatus
from gridcase_contracts.events import CaseEvent, CaseReported
from gridcase_intake.domain.api_keys import ApiKeyRecord
from gridcase_intake.domain.idempotency import (
    KeyRecord,
    KeyState,
    Reservation,
    StoredResponse,
)
from gridcase_intake.domain.projection import change_of
from gridcase_intake.domain.rate_limit import window_of
from gridcase_runtime.mongo import MongoDatabase, write_unordered

CaseDocument = dict[str, Any]


class MongoCaseViews:
    def __init__(self, database: MongoDatabase) -> None:
        self.collection = database["case_views"]

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("reporter_id", ASCENDING), ("reported_at", DESCENDING)]
        )
        await self.collection.create_index([("reported_at", DESCENDING)])
        await self.collection.create_index([("channel", ASCENDING), ("reported_at", DESCENDING)])
        await self.collection.create_index([("token", ASCENDING)])

    async def apply(self, event: CaseEvent, *, accepted_here: bool = False) -> bool:
        """Applies one event once; False if it was applied before. `accepted_here`: intake
        has just accepted this report, so its view most likely does not exist yet."""
        change = _ViewUpdate.of(event)
        # One round trip in the usual case, and no failed insert: a report accepted here
        # creates its view; a consumed CaseReported finds the view intake wrote on accepting
        # it; every later event finds its view without the event yet.
        step = "insert" if accepted_here else "find" if change.reports else "update"
        while True:
            if step == "insert":
                try:
                    await self.collection.insert_one(change.first_view())
                except DuplicateKeyError:
                    step = "find"
                    continue
                return True
            if step == "update":
                result = await self.collection.update_one(change.guard(), change.update())
                if result.modified_count == 1:
                    return True
            known = await self.collection.find_one({"_id": event.case_id}, {"event_ids": 1})
            if known is None:
                step = "insert"
            elif change.event_id in known.get("event_ids", []):
                return False
            else:
                step = "update"

    async def apply_batch(self, events: Sequence[CaseEvent]) -> int:
        """Applies consumed events, each once and each case's in order: one unordered
        update per round, the k-th event of every case in round k (one round when no case
        has two events in the batch). Returns how many were applied before (a report is
        never counted).

        A report is upserted by its case id: applying it again changes nothing (its facts
        never change, its id and timeline entry are added as to sets). Any other event
        updates its view unless the view holds it. When fewer matched than were sent, the
        views of those other events are read: an event whose view is missing is applied
        on its own, the rest that did not match were applied before. (No statement can
        be refused, see write_unordered.)"""
        again = 0
        for round_events in _rounds(events):
            changes = [_ViewUpdate.of(event) for event in round_events]
            written = await write_unordered(
                self.collection, "update", [change.statement() for change in changes]
            )
            missed = len(changes) - written.n
            if missed:
                viewless = await self._viewless([e for e in round_events if not _reports(e)])
                for event in viewless:
                    await self.apply(event)
                again += missed - len(viewless)
        return again

    async def _viewless(self, events: list[CaseEvent]) -> list[CaseEvent]:
        """Those of `events` (of distinct cases) whose case has no view."""
        views = await asyncio.gather(
            *(self.collection.find_one({"_id": e.case_id}, {"_id": 1}) for e in events)
        )
        return [event for event, view in zip(events, views, strict=True) if view is None]

    async def get(self, case_id: str) -> CaseDocument | None:
        return await self.collection.find_one({"_id": case_id}, {"event_ids": 0})

    async def by_token(self, token: str) -> CaseDocument | None:
        return await self.collection.find_one({"token": token}, {"event_ids": 0})

    async def of_reporter(
        self, reporter_id: str, *, kind: str, skip: int, limit: int
    ) -> tuple[list[CaseDocument], int]:
        query = {"reporter_id": reporter_id, "reporter_kind": kind}
        total = await self.collection.count_documents(query)
        cursor = (
            self.collection.find(query, {"event_ids": 0})
            .sort([("reported_at", DESCENDING), ("_id", ASCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return await cursor.to_list(None), total

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
    ) -> list[CaseDocument]:
        """Cases newest first; every given filter must match."""
        query: dict[str, Any] = {"reported_at": {"$exists": True}}
        if case_ids is not None:
            query["_id"] = {"$in": list(case_ids)}
        if categories is not None:
            query["category"] = {"$in": list(categories)}
        if statuses is not None:
            query["status"] = {"$in": list(statuses)}
        if channel is not None:
            query["channel"] = channel
        window: dict[str, datetime] = {}
        if reported_from is not None:
            window["$gte"] = reported_from
        if reported_until is not None:
            window["$lte"] = reported_until
        if window:
            query["reported_at"] = window
        cursor = (
            self.collection.find(query, {"event_ids": 0})
            .sort([("reported_at", DESCENDING), ("_id", ASCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return await cursor.to_list(None)


class MongoIdempotencyKeys:
    def __init__(self, database: MongoDatabase) -> None:
        self.collection = database["idempotency_keys"]

    async def create_indexes(self) -> None:
        await self.collection.create_index([("expires_at", ASCENDING)])

    async def find(self, key_id: str) -> KeyRecord | None:
        document = await self.collection.find_one({"_id": key_id})
        return None if document is None else _record(document)

    async def insert(self, record: KeyRecord) -> KeyRecord | None:
        """Records a new key; if the key exists, returns the existing record instead."""
        try:
            await self.collection.insert_one(_document(record))
        except DuplicateKeyError:
            existing = await self.collection.find_one({"_id": record.key_id})
            if existing is None:  # swept in between: try once more
                return await self.insert(record)
            return _record(existing)
        return None

    async def take_over(
        self, record: KeyRecord, attempt: str, lease_until: datetime
    ) -> KeyRecord | None:
        """Moves a failed or crashed attempt's key to `attempt`, unless someone else did."""
        taken = await self.collection.find_one_and_update(
            {"_id": record.key_id, "attempt": record.attempt, "state": record.state.value},
            {
                "$set": {
                    "state": KeyState.IN_FLIGHT.value,
                    "attempt": attempt,
                    "lease_until": lease_until,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if taken is None else _record(taken)

    async def complete(self, key_id: str, attempt: str, response: StoredResponse) -> None:
        await self.collection.update_one(
            {"_id": key_id, "attempt": attempt},
            {"$set": {"state": KeyState.COMPLETED.value, "response": asdict(response)}},
        )

    async def release(self, key_id: str, attempt: str, now: datetime) -> None:
        await self.collection.update_one(
            {"_id": key_id, "attempt": attempt, "state": KeyState.IN_FLIGHT.value},
            {"$set": {"state": KeyState.RELEASED.value, "lease_until": now}},
        )

    async def sweep(self, now: datetime) -> int:
        """Deletes expired keys (not one whose attempt may still be running)."""
        result = await self.collection.delete_many(
            {"expires_at": {"$lt": now}, "lease_until": {"$lt": now}}
        )
        return result.deleted_count


class MongoRateLimits:
    """Fixed-window counters every replica shares: one atomic `$inc` (an upsert) per
    counted request. A caller found over its limit is also remembered in this process
    until its window ends, so a flood costs no round trips."""

    REMEMBERED_CALLERS = 10_000

    def __init__(self, database: MongoDatabase, clock: Callable[[], float] = time.time) -> None:
        self.collection = database["rate_limits"]
        self.clock = clock
        self._over_until: dict[str, float] = {}

    async def create_indexes(self) -> None:
        await self.collection.create_index([("expires_at", ASCENDING)])

    async def acquire(self, key: str, limit: int) -> float | None:
        now = self.clock()
        over_until = self._over_until.get(key, 0.0)
        if over_until > now:
            return over_until - now
        window = window_of(key, now)
        update = {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": window.expires_at}}
        try:
            counted = await self._count(window.document_id, update)
        except DuplicateKeyError:  # a concurrent first request created the window
            counted = await self._count(window.document_id, update)
        if counted <= limit:
            return None
        if len(self._over_until) >= self.REMEMBERED_CALLERS:
            self._over_until = {k: t for k, t in self._over_until.items() if t > now}
        self._over_until[key] = window.end
        return window.end - now

    async def _count(self, document_id: str, update: dict[str, Any]) -> int:
        document = await self.collection.find_one_and_update(
            {"_id": document_id}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
        count: int = document["count"]
        return count

    async def refund(self, key: str) -> None:
        self._over_until.pop(key, None)
        window = window_of(key, self.clock())
        await self.collection.update_one(
            {"_id": window.document_id, "count": {"$gt": 0}}, {"$inc": {"count": -1}}
        )

    async def sweep(self, now: datetime) -> int:
        result = await self.collection.delete_many({"expires_at": {"$lt": now}})
        return result.deleted_count


def _reports(event: CaseEvent) -> bool:
    return isinstance(event, CaseReported)


def _rounds(events: Sequence[CaseEvent]) -> list[list[CaseEvent]]:
    """The k-th event of every case in the k-th round, each round in the batch's order."""
    rounds: list[list[CaseEvent]] = []
    depth: dict[str, int] = {}
    for event in events:
        position = depth.get(event.case_id, 0)
        depth[event.case_id] = position + 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(event)
    return rounds


@dataclass(frozen=True)
class _ViewUpdate:
    """What applying one event writes to its case's view."""

    case_id: str
    event_id: str
    reports: bool
    """CaseReported: its status and time count only for a view not seen yet (the API
    writes it too, so it may be applied after later events)."""
    to_set: dict[str, Any]
    on_insert: dict[str, Any]
    pushes: dict[str, Any]

    @classmethod
    def of(cls, event: CaseEvent) -> "_ViewUpdate":
        change = change_of(event)
        to_set: dict[str, Any] = dict(change.fields)
        on_insert: dict[str, Any] = {}
        if change.report is not None:
            to_set.update(change.report)
            on_insert.update(status=CaseStatus.REPORTED.value, updated_at=event.occurred_at)
        else:
            to_set["updated_at"] = event.occurred_at
            if change.status is not None:
                to_set["status"] = change.status.value
            if change.note is not None:
                to_set["last_note"] = change.note
        pushes: dict[str, Any] = {"event_ids": str(event.event_id)}
        entry = change.timeline_entry(event)
        if entry is not None:
            pushes["timeline"] = entry
        return cls(
            event.case_id, str(event.event_id), change.report is not None, to_set, on_insert, pushes
        )

    def guard(self) -> dict[str, Any]:
        """The view, unless it holds the event."""
        return {"_id": self.case_id, "event_ids": {"$ne": self.event_id}}

    def update(self) -> dict[str, Any]:
        update: dict[str, Any] = {"$set": self.to_set, "$push": self.pushes}
        if self.on_insert:
            update["$setOnInsert"] = self.on_insert
        return update

    def statement(self) -> dict[str, Any]:
        """The statement of an update command that applies the event (see apply_batch)."""
        if self.reports:
            once = {"$set": self.to_set, "$setOnInsert": self.on_insert, "$addToSet": self.pushes}
            return {"q": {"_id": self.case_id}, "u": once, "upsert": True}
        return {"q": self.guard(), "u": self.update()}

    def first_view(self) -> dict[str, Any]:
        """The view the event makes of a case that has none yet."""
        view = {**_nested({**self.to_set, **self.on_insert}), "_id": self.case_id}
        view.update({name: [value] for name, value in self.pushes.items()})
        return view


def _nested(fields: dict[str, Any]) -> dict[str, Any]:
    """Dotted update paths ("overdue.accept") as the nested document an insert needs."""
    document: dict[str, Any] = {}
    for path, value in fields.items():
        *parents, leaf = path.split(".")
        target = document
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return document


def _document(record: KeyRecord) -> dict[str, Any]:
    return {
        "_id": record.key_id,
        "fingerprint": record.fingerprint,
        "case_id": record.reservation.case_id,
        "event_id": str(record.reservation.event_id),
        "occurred_at": record.reservation.occurred_at,
        "state": record.state.value,
        "attempt": record.attempt,
        "lease_until": record.lease_until,
        "expires_at": record.expires_at,
        "response": asdict(record.response) if record.response else None,
    }


def _record(document: dict[str, Any]) -> KeyRecord:
    response = document.get("response")
    return KeyRecord(
        key_id=document["_id"],
        fingerprint=document["fingerprint"],
        reservation=Reservation(
            document["case_id"], UUID(document["event_id"]), document["occurred_at"]
        ),
        state=KeyState(document["state"]),
        attempt=document["attempt"],
        lease_until=document["lease_until"],
        expires_at=document["expires_at"],
        response=StoredResponse(**response) if response else None,
    )


class MongoApiKeys:
    def __init__(self, database: MongoDatabase) -> None:
        self.collection = database["api_keys"]

    async def insert(self, record: ApiKeyRecord) -> None:
        document = asdict(record)
        document["_id"] = document.pop("key_id")
        await self.collection.insert_one(document)

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        document = await self.collection.find_one({"_id": key_id})
        return _api_key(document) if document else None

    async def all(self) -> list[ApiKeyRecord]:
        return [_api_key(document) async for document in self.collection.find().sort("created_at")]

    async def revoke(self, key_id: str, at: datetime) -> ApiKeyRecord | None:
        await self.collection.update_one(
            {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": at}}
        )
        return await self.get(key_id)


def _api_key(document: dict[str, Any]) -> ApiKeyRecord:
    fields = dict(document)
    return ApiKeyRecord(key_id=fields.pop("_id"), **fields)
