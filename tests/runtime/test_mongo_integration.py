"""motor against the real Mongo-wire server: the operations the services rely on."""

from collections.abc import AsyncIterator

import pytest
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from gridcase_runtime.mongo import MongoDatabase, close, connect, ping

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(mongo_url: str, namespace: str) -> AsyncIterator[MongoDatabase]:
    db = connect(mongo_url, namespace.replace("-", "_"))
    await ping(db)
    yield db
    await db.client.drop_database(db.name)
    close(db)


async def test_crud(database: MongoDatabase) -> None:
    cases = database["cases"]
    await cases.insert_one({"_id": "GC-1", "status": "reported", "history": [{"n": 1}]})
    await cases.update_one(
        {"_id": "GC-1"}, {"$set": {"status": "assigned"}, "$push": {"history": {"n": 2}}}
    )
    found = await cases.find_one({"_id": "GC-1"})
    assert found == {"_id": "GC-1", "status": "assigned", "history": [{"n": 1}, {"n": 2}]}
    assert await cases.count_documents({"status": "assigned"}) == 1
    await cases.delete_one({"_id": "GC-1"})
    assert await cases.find_one({"_id": "GC-1"}) is None


async def test_a_unique_index_rejects_a_duplicate(database: MongoDatabase) -> None:
    ledger = database["ledger"]
    await ledger.create_index([("event_id", ASCENDING)], unique=True)
    await ledger.insert_one({"event_id": "e-1", "case_id": "GC-1"})
    with pytest.raises(DuplicateKeyError):
        await ledger.insert_one({"event_id": "e-1", "case_id": "GC-2"})
    assert await ledger.count_documents({}) == 1


async def test_find_and_modify_is_a_conditional_atomic_update(database: MongoDatabase) -> None:
    cases = database["cases"]
    await cases.insert_one({"_id": "GC-1", "version": 1})
    updated = await cases.find_one_and_update(
        {"_id": "GC-1", "version": 1},
        {"$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    assert updated == {"_id": "GC-1", "version": 2}
    stale = await cases.find_one_and_update({"_id": "GC-1", "version": 1}, {"$inc": {"version": 1}})
    assert stale is None


async def test_aggregation_within_the_supported_subset(database: MongoDatabase) -> None:
    """$unwind is left out on purpose: FerretDB 1.24 drops the sibling fields of the
    unwound array, so no service may depend on it."""
    cases = database["cases"]
    await cases.insert_many(
        [{"_id": f"GC-{i}", "district": f"D0{i % 3 + 1}", "open": i % 2 == 0} for i in range(6)]
    )
    grouped = await cases.aggregate(
        [
            {"$match": {"open": True}},
            {"$project": {"district": 1}},
            {"$group": {"_id": "$district", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ]
    ).to_list(None)
    assert grouped == [{"_id": "D01", "n": 1}, {"_id": "D02", "n": 1}, {"_id": "D03", "n": 1}]
    counted = await cases.aggregate([{"$match": {"open": False}}, {"$count": "n"}]).to_list(None)
    assert counted == [{"n": 3}]
