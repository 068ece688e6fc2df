"""An in-memory repository for unit tests, with the Mongo repository's semantics (the
contract tests run both through the same cases)."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from gridcase_assignment.domain.duplicates import NearbyCase
from gridcase_assignment.domain.model import (
    SETTLED_STATUSES,
    WORKLOAD_STATUSES,
    Case,
    workload_moves,
)
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import CatalogueEntry, HandlerLoad, RoutingTables
from gridcase_assignment.ports import Change, Document, LoadedCase, NewCase
from gridcase_contracts.codes import SUPERVISOR_QUEUE, Category
from gridcase_contracts.envelope import Envelope


@dataclass
class StoredCase:
    case: Case
    processed: list[str] = field(default_factory=list)
    outbox: list[Envelope] = field(default_factory=list)
    ladder_next_at: datetime | None = None
    escalated_at: datetime | None = None


@dataclass
class Record:
    """A registry record with the history of its changes."""

    fields: Document | None
    history: list[Change] = field(default_factory=list)


@dataclass
class Workload:
    open_cases: int = 0
    last_assigned_at: datetime | None = None


class FakeCaseRepository:
    def __init__(self) -> None:
        self.cases: dict[str, StoredCase] = {}
        self.registry: dict[str, dict[str, Record]] = {
            "catalogue": {},
            "department": {},
            "handler": {},
        }
        self.workload: dict[str, Workload] = {}

    # --- the audited registry -----------------------------------------------------

    def seed(
        self, entries: list[CatalogueEntry], departments: list[Department], handlers: list[Handler]
    ) -> None:
        """Records without history, as the Mongo repository's seed inserts them."""
        for kind, key, fields in (
            *(("catalogue", e.key, _entry_fields(e)) for e in entries),
            *(("department", d.code, _department_fields(d)) for d in departments),
            *(("handler", h.handler_id, _handler_fields(h)) for h in handlers),
        ):
            self.registry[kind].setdefault(key, Record(fields))

    def _active(self, kind: str) -> dict[str, Document]:
        return {
            key: record.fields
            for key, record in sorted(self.registry[kind].items())
            if record.fields is not None
        }

    def _put(self, kind: str, key: str, after: Document | None, *, by: str, at: datetime) -> None:
        record = self.registry[kind].get(key)
        if record is None and after is None:
            return
        if record is None:
            record = self.registry[kind][key] = Record(None)
        record.history.append(Change(kind, key, at, by, record.fields, after))
        record.fields = after

    async def catalogue_entries(self) -> list[CatalogueEntry]:
        return [
            CatalogueEntry(
                Category(f["category"]), f["district"], f["lead"], tuple(f["co_departments"])
            )
            for f in self._active("catalogue").values()
        ]

    async def put_catalogue_entry(self, entry: CatalogueEntry, *, by: str, at: datetime) -> None:
        self._put("catalogue", entry.key, _entry_fields(entry), by=by, at=at)

    async def remove_catalogue_entry(self, key: str, *, by: str, at: datetime) -> bool:
        if key not in self._active("catalogue"):
            return False
        self._put("catalogue", key, None, by=by, at=at)
        return True

    async def list_departments(self) -> list[Department]:
        departments = self._active("department").items()
        return [Department(code, fields["name"], fields["head"]) for code, fields in departments]

    async def get_department(self, code: str) -> Department | None:
        fields = self._active("department").get(code)
        return Department(code, fields["name"], fields["head"]) if fields else None

    async def put_department(self, department: Department, *, by: str, at: datetime) -> None:
        self._put("department", department.code, _department_fields(department), by=by, at=at)

    async def list_handlers(self, department: str | None = None) -> list[Handler]:
        return [
            Handler(handler_id, **fields)
            for handler_id, fields in self._active("handler").items()
            if department is None or fields["department"] == department
        ]

    async def get_handler(self, handler_id: str) -> Handler | None:
        fields = self._active("handler").get(handler_id)
        return Handler(handler_id, **fields) if fields else None

    async def put_handler(self, handler: Handler, *, by: str, at: datetime) -> None:
        self._put("handler", handler.handler_id, _handler_fields(handler), by=by, at=at)

    async def changes(self, kind: str | None = None, limit: int = 100) -> list[Change]:
        found = [
            change
            for name, records in self.registry.items()
            if kind in (None, name)
            for record in records.values()
            for change in record.history
        ]
        found.sort(key=lambda change: (change.at, change.kind, change.key), reverse=True)
        return found[:limit]

    # --- routing and workload -----------------------------------------------------

    async def routing_tables(self) -> RoutingTables:
        on_duty: dict[str, list[str]] = {}
        for handler in await self.list_handlers():
            if handler.on_duty:
                on_duty.setdefault(handler.department, []).append(handler.handler_id)
        return RoutingTables(
            {entry.key: entry for entry in await self.catalogue_entries()},
            {code: tuple(ids) for code, ids in on_duty.items()},
        )

    async def least_loaded(self, handler_ids: Sequence[str]) -> list[HandlerLoad]:
        loads = [(h, self.workload.get(h, Workload())) for h in handler_ids]
        return [HandlerLoad(h, load.open_cases, load.last_assigned_at) for h, load in loads]

    async def move_workload(self, moves: Sequence[tuple[Case | None, Case]]) -> None:
        changes, latest = workload_moves(moves)
        for handler_id, change in changes.items():
            self.workload.setdefault(handler_id, Workload()).open_cases += change
        for handler_id, assigned_at in latest.items():
            self.workload[handler_id].last_assigned_at = assigned_at

    async def recount_workload(self) -> None:
        for handler in await self.list_handlers():
            own = [s.case for s in self.cases.values() if s.case.handler == handler.handler_id]
            assigned = [case.assigned_at for case in own if case.assigned_at is not None]
            self.workload[handler.handler_id] = Workload(
                sum(1 for case in own if case.status in WORKLOAD_STATUSES),
                max(assigned, default=None),
            )

    # --- cases --------------------------------------------------------------------

    async def load_case(self, case_id: str) -> LoadedCase | None:
        stored = self.cases.get(case_id)
        return LoadedCase(stored.case, frozenset(stored.processed)) if stored else None

    async def insert_cases(self, new_cases: Sequence[NewCase]) -> set[str]:
        inserted = set()
        for new in new_cases:
            if await self.save_case(
                new.case, events=new.events, processed_event=new.processed_event
            ):
                inserted.add(new.case.case_id)
        return inserted

    async def save_case(
        self,
        case: Case,
        *,
        events: tuple[Envelope, ...] = (),
        processed_event: str | None = None,
        ladder_next_at: datetime | None = None,
    ) -> bool:
        current = self.cases.get(case.case_id)
        if (current.case.version if current else 0) != case.version:
            return False
        stored = current or StoredCase(case)
        stored.case = replace(
            case,
            version=case.version + 1,
            priority=stored.case.priority,
            cluster_size=stored.case.cluster_size,
        )
        stored.processed += [processed_event] if processed_event else []
        stored.outbox += events
        stored.ladder_next_at = ladder_next_at
        if any(event.event_type == "CaseEscalated" for event in events):
            stored.escalated_at = max(event.occurred_at for event in events)
        self.cases[case.case_id] = stored
        return True

    async def nearby_open_cases(
        self, category: Category, cell: str, *, excluding: str
    ) -> list[NearbyCase]:
        return [
            NearbyCase(case.case_id, case.lat, case.lon, case.reported_at)
            for case in (stored.case for stored in self.cases.values())
            if cell in case.near_cells
            and case.category == category
            and case.status not in SETTLED_STATUSES
            and case.primary_case_id is None
            and case.case_id != excluding
            and case.lat is not None
            and case.lon is not None
        ]

    async def cluster_size(self, primary_case_id: str) -> int:
        merged = [
            s
            for s in self.cases.values()
            if s.case.primary_case_id == primary_case_id and s.case.status == "duplicate"
        ]
        return len(merged) + 1

    async def set_cluster(self, primary_case_id: str, cluster_size: int, priority: int) -> None:
        stored = self.cases.get(primary_case_id)
        if stored is not None:
            stored.case = replace(stored.case, cluster_size=cluster_size, priority=priority)

    async def cases_with_ladder_due(self, now: datetime, limit: int = 200) -> list[str]:
        return [
            case_id
            for case_id, stored in self.cases.items()
            if stored.ladder_next_at is not None and stored.ladder_next_at <= now
        ][:limit]

    def _queue(self) -> list[Case]:
        return [
            s.case
            for s in self.cases.values()
            if s.case.department == SUPERVISOR_QUEUE and s.case.status not in SETTLED_STATUSES
        ]

    async def supervisor_queue(self, *, limit: int, offset: int) -> list[Case]:
        oldest_first = sorted(self._queue(), key=lambda case: case.assigned_at or datetime.min)
        return oldest_first[offset : offset + limit]

    async def supervisor_queue_size(self) -> int:
        return len(self._queue())

    async def escalated_cases(self, *, limit: int, offset: int) -> list[Case]:
        escalated = [s for s in self.cases.values() if s.escalated_at is not None]
        escalated.sort(key=lambda s: s.escalated_at or datetime.min, reverse=True)
        return [s.case for s in escalated][offset : offset + limit]


def _entry_fields(entry: CatalogueEntry) -> Document:
    return {
        "category": entry.category.value,
        "district": entry.district,
        "lead": entry.lead,
        "co_departments": list(entry.co_departments),
    }


def _department_fields(department: Department) -> Document:
    return {"name": department.name, "head": department.head}


def _handler_fields(handler: Handler) -> Document:
    fields = asdict(handler)
    del fields["handler_id"]
    return fields
