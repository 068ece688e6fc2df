"""The case history in MongoDB: one document per case holding its ledger, projection,
version and outbox, so an event's append, the projection change and the events it emits
are one atomic single-document write. Every motor call of the service lives here.

FerretDB notes: findAndModify takes no projection there (the matched document comes back
whole), and `$nin` on the `event_ids` array is the dedupe filter both servers support.

Known limitation, the order of this service's own events: an action appends its event to
the ledger at once, and the outbox relay publishes it afterwards. Another service's event
of the same case that is on the topic but not yet consumed here (the consumer lag), or that
is published between the action's write and the relay's publish (the relay delay), lands in
the ledger after the action's event but precedes it on the topic. The live projection and a
rebuild (`gridcase-remediation rebuild`) both fold the ledger, so they agree with each other;
a rebuild does not restore the topic's order. A replay of the topic into an empty database,
and every other consumer, apply the topic's order and may reach a different state for such
a case (accepted-then-reassigned here is reassigned-then-accepted there), or record one of
the two events as an anomaly on one side only. Only cases where another service writes
within that window (consumer lag plus relay delay) of a person's action are affected. No
check refuses such actions: waiting until the consumer has caught up with the case's
partition would still leave the relay delay open, and would refuse actions whenever that
partition is busy."""

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError, WriteError

from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.case import Case
from gridcase_remediation.domain.ledger import CaseRecord, LedgerEntry, chained, head, linked
from gridcase_remediation.ports import CaseWrite
from gridcase_runtime.batches import CASES_AT_ONCE
from gridcase_runtime.due import DueScan
from gridcase_runtime.mongo import DUPLICATE_KEY, MongoDatabase, Written, aggregate, write_unordered
from gridcase_runtime.outbox import Collection, outbox_update

SORT_FIELDS = ("reported_at", "updated_at")


@dataclass(frozen=True)
class CaseQuery:
    """Filters of the case list; None means 'any'."""

    departments: str | None = None
    """Cases whose department or co-departments include this one."""
    reporter_id: str | None = None
    statuses: tuple[str, ...] = ()
    category: str | None = None
    district: str | None = None
    department: str | None = None
    handler: str | None = None
    overdue: bool | None = None
    sort: str = "-reported_at"
    limit: int = 50
    cursor: str | None = None


class CursorError(ValueError):
    """A pagination cursor that this service did not issue."""


def _document(record: CaseRecord, due_slot: datetime | None) -> dict[str, Any]:
    """The top-level fields derived from the projection (for queries and the SLA timer)."""
    case = record.case
    return {
        "version": record.version,
        "state": case.model_dump(mode="json"),
        "reported_at": case.reported_at,
        "updated_at": case.updated_at,
        "next_due_at": case.next_due_at(),
        "due_slot": due_slot,
        "overdue": bool(case.overdue_stages()),
    }


def _record(document: dict[str, Any]) -> CaseRecord:
    return CaseRecord(
        Case.model_validate(document["state"]),
        document["version"],
        tuple(LedgerEntry.from_document(entry) for entry in document.get("ledger", [])),
    )


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime | None, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, case_id = json.loads(base64.urlsafe_b64decode(padded))
        return (datetime.fromisoformat(value) if value else None), str(case_id)
    except (ValueError, TypeError) as error:
        raise CursorError("cursor is not one this service issued") from error


def _write(
    write: CaseWrite, emit: bool, due_slot: datetime | None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The document of a new case (and no filter), or the filter that finds the case still
    at `write.before`'s version without the events, and the update that stores `write`;
    with `emit`, the events also enter the outbox."""
    before, after = write.before, write.after
    known = len(before.ledger) if before else 0
    entries = [entry.to_document() for entry in after.ledger[known:]]
    event_ids = [entry["event_id"] for entry in entries]
    ledger_head = head(after.ledger)
    outbox = outbox_update(write.appended) if emit else {"$push": {}, "$set": {}}
    if before is None:
        return None, {
            "_id": after.case.case_id,
            **_document(after, due_slot),
            "ledger": entries,
            "ledger_head": ledger_head,
            "event_ids": event_ids,
            "outbox": outbox["$push"].get("outbox", {}).get("$each", []),
            "outbox_pending": emit,
        }
    # A ledger stored before the chain existed is linked in this same write.
    ledger_update: dict[str, Any] = (
        {"$push": {"ledger": {"$each": entries}}}
        if linked(before.ledger)
        else {"$set": {"ledger": [entry.to_document() for entry in after.ledger]}}
    )
    update = {
        "$set": {
            **_document(after, due_slot),
            "ledger_head": ledger_head,
            **outbox["$set"],
            **ledger_update.get("$set", {}),
        },
        "$push": {
            **ledger_update.get("$push", {}),
            "event_ids": {"$each": event_ids},
            **outbox["$push"],
        },
    }
    guard = {"_id": after.case.case_id, "version": before.version, "event_ids": {"$nin": event_ids}}
    return guard, update


def _duplicates(written: Written) -> list[int]:
    """The statements refused for a duplicate _id; raises on any other refusal."""
    for error in written.refused.values():
        if error["code"] != DUPLICATE_KEY:
            raise WriteError(error.get("errmsg", "write refused"), error["code"], error)
    return sorted(written.refused)


class CaseRepository:
    """Cases in the `cases` collection."""

    def __init__(self, database: MongoDatabase) -> None:
        self.cases: Collection = database["cases"]
        self.sla_scan = DueScan(self.cases, "next_due_at", "due_slot")

    async def create_indexes(self) -> None:
        for keys in (
            [("state.department", ASCENDING), ("reported_at", DESCENDING)],
            [("state.co_departments", ASCENDING)],
            [("state.reporter_id", ASCENDING)],
            [("due_slot", ASCENDING)],
            [("reported_at", DESCENDING)],
            [("updated_at", DESCENDING)],
        ):
            await self.cases.create_index(keys)

    async def get(self, case_id: str) -> CaseRecord | None:
        document = await self.cases.find_one({"_id": case_id}, {"outbox": 0, "event_ids": 0})
        return None if document is None else _record(document)

    async def get_many(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        """The cases there are of `case_ids`, each read by its _id (several at once): the
        local Mongo-wire server would read a whole collection for an `$in`."""
        slots = asyncio.Semaphore(CASES_AT_ONCE)

        async def one(case_id: str) -> CaseRecord | None:
            async with slots:
                return await self.get(case_id)

        records = await asyncio.gather(*(one(case_id) for case_id in case_ids))
        return {record.case.case_id: record for record in records if record is not None}

    async def save(
        self,
        before: CaseRecord | None,
        after: CaseRecord,
        appended: Sequence[Envelope],
        *,
        emit: bool,
    ) -> bool:
        """Appends `appended` to the ledger and stores `after` in one write, provided the
        case is still at `before`'s version and holds none of the events; with `emit`, the
        events also enter the outbox in that same write. False if another write came first."""
        with self.sla_scan.writing(after.case.next_due_at()) as slot:
            guard, write = _write(CaseWrite(before, after, tuple(appended)), emit, slot)
            if guard is None:
                try:
                    await self.cases.insert_one(write)
                except DuplicateKeyError:
                    return False
                return True
            return await self.cases.find_one_and_update(guard, write) is not None

    async def save_consumed(self, writes: Sequence[CaseWrite]) -> set[str]:
        """Stores consumed events of many cases (none enters the outbox), each case's on
        the terms of `save`: the new cases in one unordered insert, the others in one
        unordered update. Returns the ids of the cases refused because another write
        came first."""
        with contextlib.ExitStack() as slots:
            inserts: list[tuple[str, dict[str, Any]]] = []
            updates: list[tuple[str, dict[str, Any]]] = []
            for one in writes:
                slot = slots.enter_context(self.sla_scan.writing(one.after.case.next_due_at()))
                guard, write = _write(one, False, slot)
                if guard is None:
                    inserts.append((one.case_id, write))
                else:
                    updates.append((one.case_id, {"q": guard, "u": write}))
            refused: set[str] = set()
            if inserts:
                inserted = await write_unordered(self.cases, "insert", [d for _, d in inserts])
                refused |= {inserts[index][0] for index in _duplicates(inserted)}
            if updates:
                updated = await write_unordered(self.cases, "update", [u for _, u in updates])
                _duplicates(updated)
                if updated.n != len(updates):
                    refused |= await self._not_holding(writes, {c for c, _ in updates})
        return refused

    async def _not_holding(self, writes: Sequence[CaseWrite], case_ids: set[str]) -> set[str]:
        """Of those cases, the ones that do not hold their write's events: another write
        came first (consumed events are written by their partition's consumer alone)."""
        held = await self.get_many(sorted(case_ids))
        return {
            write.case_id
            for write in writes
            if write.case_id in case_ids
            and (
                write.case_id not in held
                or not all(held[write.case_id].has(str(e.event_id)) for e in write.appended)
            )
        }

    async def replace_projection(self, record: CaseRecord, rebuilt: Case) -> bool:
        """Stores a projection rebuilt from the ledger, unless the case moved meanwhile."""
        with self.sla_scan.writing(rebuilt.next_due_at()) as slot:
            found = await self.cases.find_one_and_update(
                {"_id": record.case.case_id, "version": record.version},
                {"$set": _document(CaseRecord(rebuilt, record.version), slot)},
            )
        return found is not None

    async def chain_unlinked_ledgers(self) -> int:
        """The migration to hash-chained ledgers, run at startup: links every ledger
        stored before the chain existed (no `ledger_head`) as it stands; returns how many
        it linked. (A case written meanwhile is linked by that write, see `save`.)"""
        linked = 0
        async for document in self.cases.find(
            {"ledger_head": {"$exists": False}}, {"ledger": 1, "version": 1}
        ):
            ledger = chained(LedgerEntry.from_document(e) for e in document.get("ledger", []))
            result = await self.cases.update_one(
                {"_id": document["_id"], "version": document["version"]},
                {
                    "$set": {
                        "ledger": [entry.to_document() for entry in ledger],
                        "ledger_head": head(ledger),
                    }
                },
            )
            linked += result.modified_count
        return linked

    async def due_case_ids(self, now: datetime, *, limit: int = 500) -> list[str]:
        """Cases with an open stage due by `now`, read by their due slots."""
        return await self.sla_scan.due_ids(now, limit=limit)

    async def case_ids(self) -> AsyncIterator[str]:
        async for document in self.cases.find({}, {"_id": 1}).sort("_id", ASCENDING):
            yield document["_id"]

    async def count_by_status(self) -> dict[str, int]:
        pipeline = [{"$group": {"_id": "$state.status", "count": {"$sum": 1}}}]
        rows = await aggregate(self.cases, pipeline)
        return {str(row["_id"]): row["count"] for row in rows if row["_id"]}

    async def reported_between(self, start: datetime, end: datetime) -> AsyncIterator[CaseRecord]:
        """Cases reported in [start, end), oldest first, without their ledgers."""
        cursor = self.cases.find(
            {"reported_at": {"$gte": start, "$lt": end}}, {"state": 1, "version": 1}
        ).sort([("reported_at", ASCENDING), ("_id", ASCENDING)])
        async for document in cursor:
            yield _record(document)

    async def search(self, query: CaseQuery) -> tuple[list[CaseRecord], str | None]:
        """One page of cases and the cursor of the next page (None on the last page)."""
        descending = query.sort.startswith("-")
        sort_field = query.sort.lstrip("-")
        conditions: list[dict[str, Any]] = []
        if query.departments:
            conditions.append(
                {
                    "$or": [
                        {"state.department": query.departments},
                        {"state.co_departments": query.departments},
                    ]
                }
            )
        for field, value in (
            ("state.reporter_id", query.reporter_id),
            ("state.category", query.category),
            ("state.district", query.district),
            ("state.department", query.department),
            ("state.handler", query.handler),
            ("overdue", query.overdue),
        ):
            if value is not None:
                conditions.append({field: value})
        if query.statuses:
            conditions.append({"state.status": {"$in": list(query.statuses)}})
        if query.cursor:
            after_value, after_id = _decode_cursor(query.cursor)
            beyond = "$lt" if descending else "$gt"
            conditions.append(
                {
                    "$or": [
                        {sort_field: {beyond: after_value}},
                        {sort_field: after_value, "_id": {beyond: after_id}},
                    ]
                }
            )
        direction = DESCENDING if descending else ASCENDING
        cursor = (
            self.cases.find(
                {"$and": conditions} if conditions else {},
                {"state": 1, "version": 1, sort_field: 1},
            )
            .sort([(sort_field, direction), ("_id", direction)])
            .limit(query.limit + 1)
        )
        documents = await cursor.to_list(None)
        page = documents[: query.limit]
        next_cursor = None
        if len(documents) > query.limit:
            last = page[-1]
            next_cursor = encode_cursor([last.get(sort_field), last["_id"]])
        return [_record(document) for document in page], next_cursor
