"""What the handlers need from storage; the Mongo repository and the in-memory fake
implement it."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.case import Case
from gridcase_remediation.domain.ledger import CaseRecord


@dataclass(frozen=True)
class CaseWrite:
    """One case's save: the case as read (None: a new case), the case after `appended`,
    and those events."""

    before: CaseRecord | None
    after: CaseRecord
    appended: tuple[Envelope, ...]

    @property
    def case_id(self) -> str:
        return self.after.case.case_id


class CaseStore(Protocol):
    async def get(self, case_id: str) -> CaseRecord | None: ...

    async def get_many(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        """The cases there are of `case_ids`, by id."""

    async def save(
        self,
        before: CaseRecord | None,
        after: CaseRecord,
        appended: Sequence[Envelope],
        *,
        emit: bool,
    ) -> bool: ...

    async def save_consumed(self, writes: Sequence[CaseWrite]) -> set[str]:
        """Saves many cases' consumed events (none enters the outbox), each on the terms of
        `save`; returns the ids of the cases refused because another write came first."""

    async def due_case_ids(self, now: datetime, *, limit: int = 500) -> list[str]: ...


class ProjectionStore(CaseStore, Protocol):
    """A store whose projections can be refolded from their ledgers."""

    def case_ids(self) -> AsyncIterator[str]: ...

    async def replace_projection(self, record: CaseRecord, rebuilt: Case) -> bool: ...
