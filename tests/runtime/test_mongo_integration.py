"""motor against the real Mongo-wire server: the operations the services rely on."""

from collections.abc import AsyncIterator

import pytest
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from gridcase_runtime.mongo import (
    STATEMENTS_PER_COMMAND,
    MongoDatabase,
    close,
    connect,
    ping,
    write_unordered,
)

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


async def test_photos_round_trip_in_chunks(database: MongoDatabase) -> None:
    import io

    from PIL import Image

    from gridcase_runtime.photos import CHUNK_BYTES, PhotoStore, check_photo

    output = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(output, "PNG")
    photo = check_photo(output.getvalue())
    assert len(photo.data) > CHUNK_BYTES
    store = PhotoStore(database)
    await store.create_indexes()
    stored = await store.save(photo, owner="v-1")
    again = await store.save(photo, owner="v-1", photo_id=stored.photo_id)
    assert again == stored
    loaded = await store.load(stored.photo_id)
    assert loaded is not None
    assert loaded[1] == photo.data
    assert loaded[0].sha256 == photo.sha256
    assert await store.load("missing") is None


async def test_concurrent_writes_to_one_document_are_all_kept(database: MongoDatabase) -> None:
    """MongoDB applies each single-document write atomically; the local Mongo-wire server
    must too (FerretDB alone loses concurrent updates; deploy/ferretdb/serialize.go)."""
    import asyncio

    counters = database["counters"]
    await counters.insert_one({"_id": "c", "n": 0, "version": 0})

    async def increment() -> int:
        won = 0
        for _ in range(100):
            await counters.update_one({"_id": "c"}, {"$inc": {"n": 1}})
            seen = await counters.find_one({"_id": "c"})
            assert seen is not None
            if await counters.find_one_and_update(
                {"_id": "c", "version": seen["version"]}, {"$inc": {"version": 1}}
            ):
                won += 1
        return won

    wins = await asyncio.gather(*(increment() for _ in range(3)))
    final = await counters.find_one({"_id": "c"})
    assert final is not None
    assert final["n"] == 300
    assert final["version"] == sum(wins)


async def test_concurrent_writes_to_many_documents_are_all_kept(database: MongoDatabase) -> None:
    """Writes that name their document by _id run concurrently on the local server, one at a
    time per document: every document keeps each of its writers' increments and wins."""
    import asyncio

    counters = database["counters"]
    ids = [f"c-{n}" for n in range(12)]
    await counters.insert_many([{"_id": i, "n": 0, "version": 0} for i in ids])

    async def work(case_id: str) -> int:
        won = 0
        for _ in range(20):
            await counters.update_one({"_id": case_id}, {"$inc": {"n": 1}})
            seen = await counters.find_one({"_id": case_id})
            assert seen is not None
            if await counters.find_one_and_update(
                {"_id": case_id, "version": seen["version"]}, {"$inc": {"version": 1}}
            ):
                won += 1
        return won

    writers = [(case_id, work(case_id)) for case_id in ids for _ in range(3)]
    wins = await asyncio.gather(*(writer for _, writer in writers))
    won_per_id = {case_id: 0 for case_id in ids}
    for (case_id, _), won in zip(writers, wins, strict=True):
        won_per_id[case_id] += won
    final = {d["_id"]: d async for d in counters.find({})}
    assert {i: final[i]["n"] for i in ids} == {i: 60 for i in ids}
    assert {i: final[i]["version"] for i in ids} == won_per_id


async def test_full_update_commands_at_once_all_finish(database: MongoDatabase) -> None:
    """The local server holds a PostgreSQL connection per statement of an update command
    until it ends, from a pool of 50 per role: without the serializer's admission by
    connections, three full commands at once could take the pool and wait on each other
    for ever. Eight at once, on one role, all finish and all their statements count."""
    import asyncio

    counters = database["counters"]
    size = STATEMENTS_PER_COMMAND["update"]

    async def command(writer: int) -> int:
        written = await write_unordered(
            counters,
            "update",
            [
                {"q": {"_id": f"w{writer}-{n}"}, "u": {"$inc": {"n": 1}}, "upsert": True}
                for n in range(size)
            ],
        )
        return written.n

    for _ in range(3):
        counts = await asyncio.wait_for(
            asyncio.gather(*(command(writer) for writer in range(8))), timeout=120
        )
        assert counts == [size] * 8
    assert {d["n"] async for d in counters.find({})} == {3}
    assert await counters.count_documents({}) == 8 * size


async def test_writes_by_id_and_writes_by_other_fields_exclude_each_other(
    database: MongoDatabase,
) -> None:
    """A write without an _id equality (update_many, an upsert by another field) may touch
    any document of its collection, so the local server runs it alone there; writes by
    _id to the same documents, interleaved with it, still all count."""
    import asyncio

    counters = database["counters"]
    ids = [f"m-{n}" for n in range(6)]
    await counters.insert_many([{"_id": i, "group": "g", "n": 0} for i in ids])

    async def by_id(case_id: str) -> None:
        for _ in range(20):
            await counters.update_one({"_id": case_id}, {"$inc": {"n": 1}})

    async def by_group() -> None:
        for _ in range(10):
            await counters.update_many({"group": "g"}, {"$inc": {"n": 1}})

    async def upsert_by_key() -> None:
        for _ in range(20):
            await counters.update_one({"key": "shared"}, {"$inc": {"n": 1}}, upsert=True)

    await asyncio.gather(
        *(by_id(i) for i in ids for _ in range(2)),
        *(by_group() for _ in range(2)),
        *(upsert_by_key() for _ in range(3)),
    )
    final = {d["_id"]: d["n"] async for d in counters.find({"group": "g"})}
    assert final == {i: 2 * 20 + 2 * 10 for i in ids}
    shared = await counters.find({"key": "shared"}).to_list(None)
    assert [d["n"] for d in shared] == [60]


async def test_every_command_is_counted(database: MongoDatabase) -> None:
    """gridcase_mongo_commands_total counts round trips by database and command (the
    benchmark's Mongo operations per report come from it)."""
    from prometheus_client import REGISTRY

    def counted(command: str) -> float:
        labels = {"database": database.name, "command": command}
        return REGISTRY.get_sample_value("gridcase_mongo_commands_total", labels) or 0.0

    before = {command: counted(command) for command in ("insert", "find", "update")}
    cases = database["counted"]
    await cases.insert_many([{"_id": "a"}, {"_id": "b"}])
    await cases.find_one({"_id": "a"})
    await cases.update_one({"_id": "a"}, {"$set": {"seen": True}})
    await cases.update_one({"_id": "b"}, {"$set": {"seen": True}})
    after = {command: counted(command) for command in before}
    assert {c: after[c] - before[c] for c in before} == {"insert": 1, "find": 1, "update": 2}
