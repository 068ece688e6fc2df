"""The motor client: every service's Mongo adapter gets its database from here.

Keeping motor behind this module (and each service's repository) makes the move to
PyMongo's AsyncMongoClient a small change."""

from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from prometheus_client import Counter
from pymongo import WriteConcern, monitoring

MongoDatabase = AsyncIOMotorDatabase[dict[str, Any]]

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


def connect(url: str, database: str, *, timeout_ms: int = 5000) -> MongoDatabase:
    """A database handle with majority write concern; connects lazily on first use."""
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        tz_aware=True,
        uuidRepresentation="standard",
        appname="gridcase",
        event_listeners=[CommandCounter()],
    )
    return client.get_database(database, write_concern=WriteConcern(w="majority"))


async def ping(database: MongoDatabase) -> None:
    """Raises if the server does not answer."""
    await database.command("ping")


def close(database: MongoDatabase) -> None:
    database.client.close()
