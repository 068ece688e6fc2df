"""Due slots: the equality key of the periodic timers' scans (assignment's escalation
ladder, remediation-tracking's SLA timer).

The local Mongo-wire server pushes only equality filters down to PostgreSQL, so a scan for
`due_at <= now` reads every case. Each case therefore also stores its due slot (indexed):
its due time, or the time of the write if that is later, floored to the second. A timer
reads the slots that have ended, one equality query each, so it reads only cases that are
due. It keeps reading from the oldest slot that still held cases (their handling moves them
to a later slot, or out), and it never passes a slot that one of its own writes is still
writing to; every replica scans, so each case is found by at least the replica that wrote
it. A slot also starts at least WRITE_GRACE after its write, so a writer without a timer
(an administrator's command line) has that long to commit before any timer reads it. At
start, or after a gap too long to read slot by slot, a timer catches up once with the
range query.
"""

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection

SLOT = timedelta(seconds=1)
WRITE_GRACE = timedelta(seconds=2)
MAX_SLOTS_PER_SCAN = 120
"""A longer gap is caught up with one range query instead."""


def slot_of(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


class DueScan:
    """Finds the cases of `collection` whose `due_field` has come, by their `slot_field`."""

    def __init__(
        self,
        collection: AsyncIOMotorCollection[dict[str, Any]],
        due_field: str,
        slot_field: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.collection = collection
        self.due_field = due_field
        self.slot_field = slot_field
        self.clock = clock
        self._next: datetime | None = None
        """The oldest slot that may hold due cases; None: unknown, catch up."""
        self._writing: Counter[datetime] = Counter()

    @contextlib.contextmanager
    def writing(self, due: datetime | None) -> Iterator[datetime | None]:
        """The slot to store with a case due at `due` (None: not due ever), written inside
        this block: the scan does not pass the slot meanwhile."""
        if due is None:
            yield None
            return
        slot = slot_of(max(due, self.clock() + WRITE_GRACE))
        self._writing[slot] += 1
        try:
            yield slot
        finally:
            self._writing[slot] -= 1
            if not self._writing[slot]:
                del self._writing[slot]

    async def due_ids(self, now: datetime, *, limit: int) -> list[str]:
        """Up to `limit` ids of cases due by `now`, the longest due first."""
        readable = slot_of(now) - SLOT
        if self._writing:
            readable = min(readable, min(self._writing) - SLOT)
        found: list[tuple[str, datetime | None]] = []
        if self._next is None or self._next < readable - MAX_SLOTS_PER_SCAN * SLOT:
            cursor = (
                self.collection.find({self.due_field: {"$lte": now}}, {self.slot_field: 1})
                .sort(self.slot_field, 1)
                .limit(limit)
            )
            found = [(d["_id"], d.get(self.slot_field)) async for d in cursor]
        else:
            slot = self._next
            while slot <= readable and len(found) < limit:
                cursor = self.collection.find({self.slot_field: slot}, {"_id": 1})
                found += [(d["_id"], slot) async for d in cursor.limit(limit - len(found))]
                slot += SLOT
        slots = [slot for _, slot in found]
        if None in slots:
            self._next = None  # stored before slots existed: only the range query finds them
        else:
            self._next = min([s for s in slots if s is not None], default=readable + SLOT)
        return [case_id for case_id, _ in found]
