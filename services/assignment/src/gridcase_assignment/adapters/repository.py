"""Every MongoDB call of the assignment service.

Collections:
  cases        one document per case: assignment state, ladders, processed event ids and
               the transactional outbox; written with optimistic concurrency (`version`);
               `ladder_next_at` and its due slot tell the escalation timer when to look
  catalogue    dispatch catalogue entries, `_id` "category/district"
  departments  departments, `_id` the code
  handlers     handlers, `_id` the handler id
  workload     per handler, `_id` the handler id: open cases and the last assignment time,
               kept in step with every stored decision and recounted now and then
The registry collections keep every change in the document itself (`history`: who,
when, before, after), so a change and its record are one atomic write.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from gridcase_assignment.domain.duplicates import NearbyCase
from gridcase_assignment.domain.ladder import StageLadder
from gridcase_assignment.domain.model import (
    SETTLED_STATUSES,
    WORKLOAD_STATUSES,
    Case,
    workload_moves,
)
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import (
    CatalogueEntry,
    HandlerLoad,
    RoutingTables,
)
from gridcase_assignment.ports import Change, ConcurrentChangeError, LoadedCase, NewCase
from gridcase_contracts.codes import SUPERVISOR_QUEUE, Category, District, Severity, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import StageDue
from gridcase_runtime.due import DueScan
from gridcase_runtime.mongo import MongoDatabase, write_unordered
from gridcase_runtime.outbox import Collection, outbox_update

Document = dict[str, Any]

DERIVED_FIELDS = ("priority", "cluster_size")
"""Kept by `set_cluster` alone, never by a case's own versioned writes."""


def _case_document(case: Case) -> Document:
    document = {
        "category": case.category.value,
        "severity": case.severity.value,
        "district": case.district.value,
        "reported_at": case.reported_at,
        "lat": case.lat,
        "lon": case.lon,
        "near_cells": list(case.near_cells),
        "correlation_id": case.correlation_id,
        "status": case.status,
        "department": case.department,
        "co_departments": list(case.co_departments),
        "handler": case.handler,
        "candidates": list(case.candidates),
        "tried": list(case.tried),
        "returns": case.returns,
        "due": case.due.model_dump() if case.due else None,
        "primary_case_id": case.primary_case_id,
        "assigned_at": case.assigned_at,
        "ladders": {
            stage.value: {
                "due_at": ladder.due_at,
                "overdue_at": ladder.overdue_at,
                "fired": list(ladder.fired),
                "done": ladder.done,
            }
            for stage, ladder in case.ladders.items()
        },
    }
    return document


def _case(document: Document) -> Case:
    return Case(
        case_id=document["_id"],
        category=Category(document["category"]),
        severity=Severity(document["severity"]),
        district=District(document["district"]),
        reported_at=document["reported_at"],
        lat=document.get("lat"),
        lon=document.get("lon"),
        near_cells=tuple(document.get("near_cells", ())),
        correlation_id=document.get("correlation_id"),
        status=document["status"],
        department=document.get("department"),
        co_departments=tuple(document.get("co_departments") or ()),
        handler=document.get("handler"),
        candidates=tuple(document.get("candidates") or ()),
        tried=tuple(document.get("tried") or ()),
        returns=document.get("returns", 0),
        due=StageDue.model_validate(document["due"]) if document.get("due") else None,
        priority=document.get("priority", 0),
        primary_case_id=document.get("primary_case_id"),
        cluster_size=document.get("cluster_size", 1),
        assigned_at=document.get("assigned_at"),
        ladders={
            Stage(stage): StageLadder(
                stage=Stage(stage),
                due_at=ladder["due_at"],
                overdue_at=ladder["overdue_at"],
                fired=tuple(ladder.get("fired") or ()),
                done=ladder.get("done", False),
            )
            for stage, ladder in (document.get("ladders") or {}).items()
        },
        version=document.get("version", 0),
    )


def _escalation(events: tuple[Envelope, ...]) -> Document:
    """`escalated_at` when the events escalate the case (the escalated-cases list's key)."""
    escalated = [event.occurred_at for event in events if event.event_type == "CaseEscalated"]
    return {"escalated_at": max(escalated)} if escalated else {}


def _new_case_document(
    case: Case, fields: Document, events: tuple[Envelope, ...], processed_event: str | None
) -> Document:
    """A new case's document: `fields`, version 1, its first events in the outbox."""
    document = {
        "_id": case.case_id,
        **fields,
        **_escalation(events),
        "version": 1,
        "priority": case.priority,
        "cluster_size": case.cluster_size,
        "processed": [processed_event] if processed_event else [],
        "outbox": [],
    }
    if events:
        outbox = outbox_update(events)
        document.update(outbox["$set"])
        document["outbox"] = outbox["$push"]["outbox"]["$each"]
    return document


def _entry(document: Document) -> CatalogueEntry:
    return CatalogueEntry(
        Category(document["category"]),
        document["district"],
        document["lead"],
        tuple(document.get("co_departments") or ()),
    )


def _department(document: Document) -> Department:
    return Department(document["_id"], document["name"], document.get("head"))


def _handler(document: Document) -> Handler:
    return Handler(
        document["_id"], document["department"], document["name"], document.get("on_duty", False)
    )


class AssignmentRepository:
    def __init__(self, database: MongoDatabase) -> None:
        self.database = database
        self.cases: Collection = database["cases"]
        self.catalogue: Collection = database["catalogue"]
        self.departments: Collection = database["departments"]
        self.handlers: Collection = database["handlers"]
        self.workload: Collection = database["workload"]
        self.ladder_scan = DueScan(self.cases, "ladder_next_at", "ladder_due_slot")

    async def create_indexes(self) -> None:
        await self.cases.create_index([("near_cells", ASCENDING), ("category", ASCENDING)])
        await self.cases.create_index([("handler", ASCENDING), ("status", ASCENDING)])
        await self.cases.create_index([("department", ASCENDING), ("status", ASCENDING)])
        await self.cases.create_index([("primary_case_id", ASCENDING)])
        await self.cases.create_index([("ladder_due_slot", ASCENDING)])
        await self.cases.create_index([("escalated_at", DESCENDING)])
        await self.handlers.create_index([("department", ASCENDING)])

    # --- seeding ------------------------------------------------------------------

    async def seed(
        self,
        entries: list[CatalogueEntry],
        departments: list[Department],
        handlers: list[Handler],
    ) -> None:
        """Inserts what is missing; never overwrites what an admin changed."""
        for collection, key, fields in (
            *((self.catalogue, e.key, self._entry_fields(e)) for e in entries),
            *((self.departments, d.code, self._department_fields(d)) for d in departments),
            *((self.handlers, h.handler_id, self._handler_fields(h)) for h in handlers),
        ):
            try:
                await collection.insert_one(
                    {"_id": key, **fields, "active": True, "version": 1, "history": []}
                )
            except DuplicateKeyError:
                continue

    # --- the audited registry -----------------------------------------------------

    @staticmethod
    def _entry_fields(entry: CatalogueEntry) -> Document:
        return {
            "category": entry.category.value,
            "district": entry.district,
            "lead": entry.lead,
            "co_departments": list(entry.co_departments),
        }

    @staticmethod
    def _department_fields(department: Department) -> Document:
        return {"name": department.name, "head": department.head}

    @staticmethod
    def _handler_fields(handler: Handler) -> Document:
        fields = asdict(handler)
        del fields["handler_id"]
        return fields

    async def _put_audited(
        self, collection: Collection, key: str, after: Document | None, *, by: str, at: datetime
    ) -> None:
        """Sets (or, with `after` None, retires) a record and appends the change to its
        history in the same write; ConcurrentChangeError if someone changed it meanwhile."""
        current = await collection.find_one({"_id": key})
        before = None
        if current is not None and current.get("active"):
            before = {
                k: v for k, v in current.items() if k not in ("_id", "active", "version", "history")
            }
        record = {"at": at, "by": by, "before": before, "after": after}
        if current is None:
            if after is None:
                return
            try:
                await collection.insert_one(
                    {"_id": key, **after, "active": True, "version": 1, "history": [record]}
                )
            except DuplicateKeyError as error:
                raise ConcurrentChangeError(key) from error
            return
        changes: Document = {"active": after is not None, **(after or {})}
        result = await collection.update_one(
            {"_id": key, "version": current.get("version", 0)},
            {"$set": changes, "$inc": {"version": 1}, "$push": {"history": record}},
        )
        if result.matched_count != 1:
            raise ConcurrentChangeError(key)

    async def catalogue_entries(self) -> list[CatalogueEntry]:
        documents = await self.catalogue.find({"active": True}).sort("_id").to_list(None)
        return [_entry(d) for d in documents]

    async def put_catalogue_entry(self, entry: CatalogueEntry, *, by: str, at: datetime) -> None:
        await self._put_audited(self.catalogue, entry.key, self._entry_fields(entry), by=by, at=at)

    async def remove_catalogue_entry(self, key: str, *, by: str, at: datetime) -> bool:
        if await self.catalogue.find_one({"_id": key, "active": True}, {"_id": 1}) is None:
            return False
        await self._put_audited(self.catalogue, key, None, by=by, at=at)
        return True

    async def list_departments(self) -> list[Department]:
        documents = await self.departments.find({"active": True}).sort("_id").to_list(None)
        return [_department(d) for d in documents]

    async def get_department(self, code: str) -> Department | None:
        document = await self.departments.find_one({"_id": code, "active": True})
        return _department(document) if document else None

    async def put_department(self, department: Department, *, by: str, at: datetime) -> None:
        await self._put_audited(
            self.departments, department.code, self._department_fields(department), by=by, at=at
        )

    async def list_handlers(self, department: str | None = None) -> list[Handler]:
        query: Document = {"active": True}
        if department:
            query["department"] = department
        documents = await self.handlers.find(query).sort("_id").to_list(None)
        return [_handler(d) for d in documents]

    async def get_handler(self, handler_id: str) -> Handler | None:
        document = await self.handlers.find_one({"_id": handler_id, "active": True})
        return _handler(document) if document else None

    async def put_handler(self, handler: Handler, *, by: str, at: datetime) -> None:
        await self._put_audited(
            self.handlers, handler.handler_id, self._handler_fields(handler), by=by, at=at
        )

    async def changes(self, kind: str | None = None, limit: int = 100) -> list[Change]:
        """Recorded registry changes, newest first."""
        collections = {
            "catalogue": self.catalogue,
            "department": self.departments,
            "handler": self.handlers,
        }
        found: list[Change] = []
        for name, collection in collections.items():
            if kind and kind != name:
                continue
            async for document in collection.find({}, {"history": 1}):
                found += [
                    Change(name, document["_id"], r["at"], r["by"], r["before"], r["after"])
                    for r in document.get("history", [])
                ]
        found.sort(key=lambda change: (change.at, change.kind, change.key), reverse=True)
        return found[:limit]

    # --- handler workload ---------------------------------------------------------

    async def routing_tables(self) -> RoutingTables:
        """The active catalogue and the on-duty handlers by department, in two reads."""
        catalogue = {entry.key: entry for entry in await self.catalogue_entries()}
        on_duty: dict[str, list[str]] = {}
        for handler in await self.list_handlers():
            if handler.on_duty:
                on_duty.setdefault(handler.department, []).append(handler.handler_id)
        return RoutingTables(catalogue, {code: tuple(ids) for code, ids in on_duty.items()})

    async def least_loaded(self, handler_ids: Sequence[str]) -> list[HandlerLoad]:
        """The workload of each of `handler_ids` (open cases, last assignment time), from
        the counters: one small read, whatever the number of cases."""
        if not handler_ids:
            return []
        counters = {
            document["_id"]: document
            async for document in self.workload.find({"_id": {"$in": list(handler_ids)}})
        }
        return [
            HandlerLoad(
                handler_id,
                counters.get(handler_id, {}).get("open_cases", 0),
                counters.get(handler_id, {}).get("last_assigned_at"),
            )
            for handler_id in handler_ids
        ]

    async def move_workload(self, moves: Sequence[tuple[Case | None, Case]]) -> None:
        """Moves open cases between the counters where stored decisions (each case before
        and after) changed who works them, or whether they are open: one upsert by _id per
        handler, unordered. A crash between the decisions and this leaves counters off
        until `recount_workload` runs."""
        changes, latest = workload_moves(moves)
        statements = [
            {
                "q": {"_id": handler},
                "u": {"$inc": {"open_cases": change}}
                | ({"$set": {"last_assigned_at": latest[handler]}} if handler in latest else {}),
                "upsert": True,
            }
            for handler, change in changes.items()
        ]
        if statements:
            await write_unordered(self.workload, "update", statements)

    async def recount_workload(self) -> None:
        """Sets every handler's counters from the cases as stored now."""
        for handler in await self.list_handlers():
            open_cases, last = await asyncio.gather(
                self._open_cases(handler.handler_id), self._last_assigned_at(handler.handler_id)
            )
            await self.workload.update_one(
                {"_id": handler.handler_id},
                {"$set": {"open_cases": open_cases, "last_assigned_at": last}},
                upsert=True,
            )

    async def _open_cases(self, handler_id: str) -> int:
        return await self.cases.count_documents(
            {"handler": handler_id, "status": {"$in": WORKLOAD_STATUSES}}
        )

    async def _last_assigned_at(self, handler_id: str) -> datetime | None:
        latest = await (
            self.cases.find({"handler": handler_id}, {"assigned_at": 1})
            .sort("assigned_at", DESCENDING)
            .limit(1)
            .to_list(None)
        )
        return latest[0].get("assigned_at") if latest else None

    # --- cases --------------------------------------------------------------------

    async def load_case(self, case_id: str) -> LoadedCase | None:
        document = await self.cases.find_one({"_id": case_id}, {"outbox": 0})
        if document is None:
            return None
        return LoadedCase(_case(document), frozenset(document.get("processed") or ()))

    async def save_case(
        self,
        case: Case,
        *,
        events: tuple[Envelope, ...] = (),
        processed_event: str | None = None,
        ladder_next_at: datetime | None = None,
    ) -> bool:
        """Stores `case` (read at `case.version`), the id of the event that caused the
        change, and `events` in the outbox, in one write. False: the case changed
        meanwhile (or was created by someone else); nothing was written."""
        with self.ladder_scan.writing(ladder_next_at) as slot:
            fields = {
                **_case_document(case),
                "ladder_next_at": ladder_next_at,
                "ladder_due_slot": slot,
            }
            return await self._store_case(case, fields, events, processed_event)

    async def _store_case(
        self,
        case: Case,
        fields: Document,
        events: tuple[Envelope, ...],
        processed_event: str | None,
    ) -> bool:
        if case.version == 0:
            try:
                await self.cases.insert_one(
                    _new_case_document(case, fields, events, processed_event)
                )
            except DuplicateKeyError:
                return False
            return True
        update: Document = {"$set": {**fields, **_escalation(events), "version": case.version + 1}}
        pushes: Document = {}
        if processed_event:
            pushes["processed"] = processed_event
        if events:
            outbox = outbox_update(events)
            pushes.update(outbox["$push"])
            update["$set"].update(outbox["$set"])
        if pushes:
            update["$push"] = pushes
        result = await self.cases.update_one({"_id": case.case_id, "version": case.version}, update)
        return result.matched_count == 1

    async def insert_cases(self, new_cases: Sequence[NewCase]) -> set[str]:
        """Stores new cases (no ladder running), each with its events in the outbox and the
        id of the event that reported it, in unordered inserts. Returns the ids inserted; a
        case stored before (a redelivery) is left as it is."""
        documents = [
            _new_case_document(
                new.case,
                {**_case_document(new.case), "ladder_next_at": None, "ladder_due_slot": None},
                new.events,
                new.processed_event,
            )
            for new in new_cases
        ]
        if not documents:
            return set()
        written = await write_unordered(self.cases, "insert", documents)
        refused = written.duplicates()
        return {new.case.case_id for i, new in enumerate(new_cases) if i not in refused}

    async def nearby_open_cases(
        self, category: Category, cell: str, *, excluding: str
    ) -> list[NearbyCase]:
        """Cases of `category` near grid cell `cell`, still being worked and not merged
        themselves."""
        documents = await self.cases.find(
            {
                "near_cells": cell,
                "category": category.value,
                "status": {"$nin": SETTLED_STATUSES},
                "primary_case_id": None,
                "_id": {"$ne": excluding},
            },
            {"lat": 1, "lon": 1, "reported_at": 1},
        ).to_list(None)
        return [NearbyCase(d["_id"], d["lat"], d["lon"], d["reported_at"]) for d in documents]

    async def cluster_size(self, primary_case_id: str) -> int:
        """Cases in the primary's cluster, the primary included."""
        merged = await self.cases.count_documents(
            {"primary_case_id": primary_case_id, "status": "duplicate"}
        )
        return merged + 1

    async def set_cluster(self, primary_case_id: str, cluster_size: int, priority: int) -> None:
        await self.cases.update_one(
            {"_id": primary_case_id},
            {"$set": {"cluster_size": cluster_size, "priority": priority}},
        )

    async def cases_with_ladder_due(self, now: datetime, limit: int = 200) -> list[str]:
        """Cases whose next ladder level is due by `now`, read by their due slots."""
        return await self.ladder_scan.due_ids(now, limit=limit)

    async def supervisor_queue(self, *, limit: int, offset: int) -> list[Case]:
        documents = await (
            self.cases.find(
                {"department": SUPERVISOR_QUEUE, "status": {"$nin": SETTLED_STATUSES}},
                {"outbox": 0, "processed": 0},
            )
            .sort("assigned_at", ASCENDING)
            .skip(offset)
            .limit(limit)
            .to_list(None)
        )
        return [_case(d) for d in documents]

    async def supervisor_queue_size(self) -> int:
        return await self.cases.count_documents(
            {"department": SUPERVISOR_QUEUE, "status": {"$nin": SETTLED_STATUSES}}
        )

    async def escalated_cases(self, *, limit: int, offset: int) -> list[Case]:
        documents = await (
            self.cases.find({"escalated_at": {"$ne": None}}, {"outbox": 0, "processed": 0})
            .sort("escalated_at", DESCENDING)
            .skip(offset)
            .limit(limit)
            .to_list(None)
        )
        return [_case(d) for d in documents]
