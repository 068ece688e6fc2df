"""What the handlers and routers need from storage; the Mongo repository and the
in-memory fake implement it."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from gridcase_assignment.domain.duplicates import NearbyCase
from gridcase_assignment.domain.model import Case
from gridcase_assignment.domain.registry import Department, Handler
from gridcase_assignment.domain.routing import CatalogueEntry, HandlerLoad, RoutingTables
from gridcase_contracts.codes import Category
from gridcase_contracts.envelope import Envelope

Document = dict[str, Any]


class ConcurrentChangeError(Exception):
    """The record changed between read and write; read it again and retry."""


class LoadedCase(NamedTuple):
    case: Case
    processed: frozenset[str]


class NewCase(NamedTuple):
    """A reported case as first decided, its events and the id of the report's event."""

    case: Case
    events: tuple[Envelope, ...]
    processed_event: str


class Change(NamedTuple):
    kind: str
    key: str
    at: datetime
    by: str
    before: Document | None
    after: Document | None


class CaseRepository(Protocol):
    # --- the audited registry
    async def catalogue_entries(self) -> list[CatalogueEntry]: ...

    async def put_catalogue_entry(
        self, entry: CatalogueEntry, *, by: str, at: datetime
    ) -> None: ...

    async def remove_catalogue_entry(self, key: str, *, by: str, at: datetime) -> bool: ...

    async def list_departments(self) -> list[Department]: ...

    async def get_department(self, code: str) -> Department | None: ...

    async def put_department(self, department: Department, *, by: str, at: datetime) -> None: ...

    async def list_handlers(self, department: str | None = None) -> list[Handler]: ...

    async def get_handler(self, handler_id: str) -> Handler | None: ...

    async def put_handler(self, handler: Handler, *, by: str, at: datetime) -> None: ...

    async def changes(self, kind: str | None = None, limit: int = 100) -> list[Change]: ...

    # --- routing and workload
    async def routing_tables(self) -> RoutingTables: ...

    async def least_loaded(self, handler_ids: Sequence[str]) -> list[HandlerLoad]: ...

    async def move_workload(self, moves: Sequence[tuple[Case | None, Case]]) -> None: ...

    async def recount_workload(self) -> None: ...

    # --- cases
    async def load_case(self, case_id: str) -> LoadedCase | None: ...

    async def insert_cases(self, new_cases: Sequence[NewCase]) -> set[str]: ...

    async def save_case(
        self,
        case: Case,
        *,
        events: tuple[Envelope, ...] = (),
        processed_event: str | None = None,
        ladder_next_at: datetime | None = None,
    ) -> bool: ...

    async def nearby_open_cases(
        self, category: Category, cell: str, *, excluding: str
    ) -> list[NearbyCase]: ...

    async def cluster_size(self, primary_case_id: str) -> int: ...

    async def set_cluster(self, primary_case_id: str, cluster_size: int, priority: int) -> None: ...

    async def cases_with_ladder_due(self, now: datetime, limit: int = 200) -> list[str]: ...

    async def supervisor_queue(self, *, limit: int, offset: int) -> list[Case]: ...

    async def supervisor_queue_size(self) -> int: ...

    async def escalated_cases(self, *, limit: int, offset: int) -> list[Case]: ...
