"""The transactional outbox: a state change and the events it emits are written in one
single-document update, then relayed to Kafka by OutboxRelay.

An aggregate document that emits events carries two fields:
  outbox          pending encoded events, oldest first (see `outbox_update`)
  outbox_pending  true while `outbox` may hold anything (indexed, so the relay finds work)

The relay publishes a document's pending events in order, waits for Kafka's
acknowledgement, then removes exactly those entries. A crash between the two republishes
them: consumers deduplicate by event_id, so nothing is lost and nothing is applied twice.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from motor.motor_asyncio import AsyncIOMotorCollection
from prometheus_client import Gauge
from pymongo import ASCENDING

from gridcase_contracts.codec import EncodedEvent, encode
from gridcase_contracts.envelope import Envelope
from gridcase_runtime.kafka_producer import EventPublisher, PublishError
from gridcase_runtime.mongo import write_unordered
from gridcase_runtime.outages import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

OUTBOX_BACKLOG = Gauge(
    "gridcase_outbox_backlog", "Events stored but not yet acknowledged by Kafka.", ["service"]
)

Collection = AsyncIOMotorCollection[dict[str, Any]]
RELAY_RETRY_ERRORS: tuple[type[BaseException], ...] = (PublishError, *TRANSIENT_ERRORS)


def outbox_update(events: Sequence[Envelope], *, ingest_ts_ns: int | None = None) -> dict[str, Any]:
    """Update operators that append `events` to a document's outbox; merge them into the
    same update that changes the document's state."""
    entries = []
    for event in events:
        key, value, headers = encode(event, ingest_ts_ns=ingest_ts_ns)
        entries.append(
            {
                "event_id": str(event.event_id),
                "event_type": event.event_type,
                "key": key.decode(),
                "value": value.decode(),
                "headers": {name: header.decode() for name, header in headers},
            }
        )
    return {"$push": {"outbox": {"$each": entries}}, "$set": {"outbox_pending": True}}


def _encoded(entry: dict[str, Any]) -> EncodedEvent:
    headers = [(name, value.encode()) for name, value in entry["headers"].items()]
    return entry["key"].encode(), entry["value"].encode(), headers


class OutboxRelay:
    """Publishes what aggregates have stored in their outboxes; wake it with `notify()`."""

    def __init__(
        self,
        collection: Collection,
        publisher: EventPublisher,
        *,
        service: str,
        poll_interval_s: float = 1.0,
        batch_documents: int = 200,
    ) -> None:
        self.collection = collection
        self.publisher = publisher
        self.service = service
        self.poll_interval_s = poll_interval_s
        self.batch_documents = batch_documents
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._drained = True
        """The latest read found fewer documents than a batch: nothing was left behind."""

    async def create_indexes(self) -> None:
        await self.collection.create_index([("outbox_pending", ASCENDING)])

    def notify(self) -> None:
        """Something was just stored: relay now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def relay_once(self) -> int:
        """Publishes every pending event once (all documents' events in one round of
        acknowledgements; each document's in their order), then clears what was published;
        returns how many were relayed."""
        cursor = self.collection.find(
            {"outbox_pending": True}, {"outbox": 1}, limit=self.batch_documents
        )
        documents = await cursor.to_list(None)
        entries = [entry for document in documents for entry in document.get("outbox", [])]
        OUTBOX_BACKLOG.labels(self.service).set(len(entries))
        await self.publisher.publish_encoded(
            [_encoded(entry) for entry in entries], [entry["event_type"] for entry in entries]
        )
        await self._clear_all(documents)
        self._drained = len(documents) < self.batch_documents
        if self._drained:
            OUTBOX_BACKLOG.labels(self.service).set(0)
        return len(entries)

    async def _clear_all(self, documents: list[dict[str, Any]]) -> None:
        """Removes the published entries of every document: unordered updates in the
        usual case, where nothing was appended since the read. If an outbox grew
        meanwhile, every document is then cleared on its own, keeping what was appended
        (a document the updates cleared is left as it is)."""
        if not documents:
            return
        cleared = await write_unordered(
            self.collection,
            "update",
            [
                {
                    "q": {"_id": document["_id"], "outbox": document.get("outbox", [])},
                    "u": {"$set": {"outbox": [], "outbox_pending": False}},
                }
                for document in documents
            ],
        )
        if cleared.n < len(documents):
            await asyncio.gather(
                *(self._clear(doc["_id"], doc.get("outbox", [])) for doc in documents)
            )

    async def _clear(self, document_id: Any, published: list[dict[str, Any]]) -> None:
        """Removes the published entries; events appended meanwhile stay pending."""
        if published:
            # $pullAll with the exact entries: FerretDB ignores $pull conditions.
            await self.collection.update_one(
                {"_id": document_id}, {"$pullAll": {"outbox": published}}
            )
        await self.collection.update_one(
            {"_id": document_id, "outbox": {"$size": 0}},
            {"$set": {"outbox_pending": False}},
        )

    async def run(self) -> None:
        """Relays until `stop()`; on Kafka or Mongo trouble waits and tries again."""
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                # A full batch may have left more behind; after a partial one, a write
                # since the read has notified (or the poll finds it).
                if await self.relay_once() and not self._drained:
                    continue
            except RELAY_RETRY_ERRORS as error:
                log.warning("outbox relay of %s will retry: %r", self.service, error)
            except Exception:
                # Anything else (a server-side error on one document, say) must not stop
                # the relay: what is stored stays pending and is tried again.
                log.exception("outbox relay of %s failed; it tries again", self.service)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
