"""What the handlers need from storage; the Mongo repository and the in-memory fake
implement it."""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.case import Case
from gridcase_remediation.domain.ledger import CaseRecord


class CaseStore(Protocol):
    async def get(self, case_id: str) -> CaseRecord | None: ...

    async def save(
        self,
        before: CaseRecord | None,
        after: CaseRecord,
        appended: Sequence[Envelope],
        *,
        emit: bool,
    ) -> bool: ...

    async def due_case_ids(self, now: datetime, *, limit: int = 500) -> list[str]: ...


class ProjectionStore(CaseStore, Protocol):
    """A store whose projections can be refolded from their ledgers."""

    def case_ids(self) -> AsyncIterator[str]: ...

    async def replace_projection(self, record: CaseRecord, rebuilt: Case) -> bool: ...
