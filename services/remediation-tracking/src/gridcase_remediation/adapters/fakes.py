"""An in-memory case repository for unit tests, with the real one's save semantics."""

from collections.abc import Sequence
from datetime import datetime

from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.ledger import CaseRecord
from gridcase_remediation.ports import CaseWrite


class FakeCaseRepository:
    def __init__(self) -> None:
        self.records: dict[str, CaseRecord] = {}
        self.outbox: list[Envelope] = []

    async def get(self, case_id: str) -> CaseRecord | None:
        return self.records.get(case_id)

    async def get_many(self, case_ids: Sequence[str]) -> dict[str, CaseRecord]:
        return {case_id: self.records[case_id] for case_id in case_ids if case_id in self.records}

    async def save(
        self,
        before: CaseRecord | None,
        after: CaseRecord,
        appended: Sequence[Envelope],
        *,
        emit: bool,
    ) -> bool:
        current = self.records.get(after.case.case_id)
        if (current is None) != (before is None) or (
            current is not None and before is not None and current.version != before.version
        ):
            return False
        if current is not None and any(current.has(str(e.event_id)) for e in appended):
            return False
        self.records[after.case.case_id] = after
        if emit:
            self.outbox.extend(appended)
        return True

    async def save_consumed(self, writes: Sequence[CaseWrite]) -> set[str]:
        return {
            write.case_id
            for write in writes
            if not await self.save(write.before, write.after, write.appended, emit=False)
        }

    async def due_case_ids(self, now: datetime, *, limit: int = 500) -> list[str]:
        return [
            case_id
            for case_id, record in self.records.items()
            if (due := record.case.next_due_at()) is not None and due <= now
        ][:limit]
