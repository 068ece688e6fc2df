"""The MongoDB client: every service's Mongo adapter gets its database from here.

motor is the client. PyMongo's own AsyncMongoClient has the same API shape without motor's
thread pool; `GRIDCASE_MONGO_DRIVER=pymongo` runs the same adapters on it, so the benchmark
can measure what motor's thread hop costs (`python -m tests.bench --mongo-driver pymongo`).
The two differ where the adapters meet them only in `aggregate` (a cursor in motor, a
coroutine of one in PyMongo) and `close` (a coroutine in PyMongo): both go through here."""

import asyncio
import inspect
import os
from dataclasses import dataclass
from typing import Any, cast

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorCollection, AsyncIOMotorDatabase
from prometheus_client import Counter
from pymongo import AsyncMongoClient, WriteConcern, monitoring
from pymongo.errors import WriteConcernError, WriteError

MongoDatabase = AsyncIOMotorDatabase[dict[str, Any]]

DRIVERS = ("motor", "pymongo")
DRIVER_VARIABLE = "GRIDCASE_MONGO_DRIVER"

MONGO_COMMANDS = Counter(
    "gridcase_mongo_commands_total",
    "Commands sent to MongoDB (each round trip: a find, a getMore, an update, ...).",
    ["database", "command"],
)


class CommandCounter(monitoring.CommandListener):
    """Counts every command the client sends, by database and command name."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        MONGO_COMMANDS.labels(event.database_name, event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def connect(
    url: str, database: str, *, timeout_ms: int = 5000, driver: str | None = None
) -> MongoDatabase:
    """A database handle with majority write concern; connects lazily on first use.
    `driver`: motor or pymongo (default: GRIDCASE_MONGO_DRIVER, else motor)."""
    driver = driver or os.environ.get(DRIVER_VARIABLE) or "motor"
    if driver not in DRIVERS:
        raise ValueError(f"{DRIVER_VARIABLE} must be one of {', '.join(DRIVERS)}, not {driver!r}")
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": timeout_ms,
        "tz_aware": True,
        "uuidRepresentation": "standard",
        "appname": "gridcase",
        "event_listeners": [CommandCounter()],
    }
    majority = WriteConcern(w="majority")
    if driver == "pymongo":
        native: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, **options)
        # Same API shape as motor's database, as far as the adapters use it (see above).
        return cast(MongoDatabase, native.get_database(database, write_concern=majority))
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(url, **options)
    return client.get_database(database, write_concern=majority)


async def aggregate(
    collection: AsyncIOMotorCollection[dict[str, Any]], pipeline: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every document the aggregation pipeline yields, with either driver."""
    cursor: Any = collection.aggregate(pipeline)
    if inspect.isawaitable(cursor):
        cursor = await cursor
    rows: list[dict[str, Any]] = await cursor.to_list(None)
    return rows


DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Written:
    """The answer of `write_unordered`."""

    refused: dict[int, dict[str, Any]]
    """The write error of each refused statement, by the statement's index."""
    n: int
    """How many statements took effect: inserted, or matched or upserted."""

    def duplicates(self) -> set[int]:
        """The statements refused for a duplicate _id; raises WriteError on any other."""
        for error in self.refused.values():
            if error["code"] != DUPLICATE_KEY:
                raise WriteError(error.get("errmsg", "write refused"), error["code"], error)
        return set(self.refused)


STATEMENTS_PER_COMMAND = {"insert": 200, "update": 16}
"""An insert's documents stay well under the 16 MB a command may be. The local Mongo-wire
server keeps each update statement's query open until the whole command is done, holding a
PostgreSQL connection per statement (of 50 per role): more than that in one command stalls
the server. 16 is as many as a consumer's concurrent single writes held (`per_case`)."""


async def write_unordered(
    collection: AsyncIOMotorCollection[dict[str, Any]],
    command: str,
    statements: list[dict[str, Any]],
) -> Written:
    """Runs `statements` (an `insert`'s documents, or an `update`'s {q, u, upsert}) once
    each, unordered, with majority write concern, up to STATEMENTS_PER_COMMAND to a
    command, one command at a time.

    Not bulk_write, which cannot read the local Mongo-wire server's answer to a refused
    statement. That server also runs an update's statements in order, stops at the first
    refused one and names it as the first of all: send only updates that cannot be
    refused (an upsert only by _id alone); such an answer raises WriteError."""
    refused: dict[int, dict[str, Any]] = {}
    n = 0
    size = STATEMENTS_PER_COMMAND[command]
    for start in range(0, len(statements), size):
        answer = await collection.database.command(
            {
                command: collection.name,
                "documents" if command == "insert" else "updates": statements[start : start + size],
                "ordered": False,
                "writeConcern": {"w": "majority"},
            },
            codec_options=collection.codec_options,
        )
        if "writeConcernError" in answer:
            error = answer["writeConcernError"]
            raise WriteConcernError(error.get("errmsg", "write concern failed"), error.get("code"))
        errors: list[dict[str, Any]] = answer.get("writeErrors", [])
        if "n" not in answer:
            error = errors[0] if errors else {"errmsg": "no n in the answer", "code": None}
            raise WriteError(error["errmsg"], error["code"], answer)
        for error in errors:
            refused[start + error["index"]] = error
        n += answer["n"]
    return Written(refused, n)


async def ping(database: MongoDatabase) -> None:
    """Raises if the server does not answer."""
    await database.command("ping")


_CLOSING: set[asyncio.Future[Any]] = set()


def close(database: MongoDatabase) -> None:
    client: Any = database.client
    closing = client.close()
    if inspect.isawaitable(closing):
        future = asyncio.ensure_future(closing)
        _CLOSING.add(future)
        future.add_done_callback(_CLOSING.discard)
