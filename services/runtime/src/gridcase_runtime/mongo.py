"""The motor client: every service's Mongo adapter gets its database from here.

Keeping motor behind this module (and each service's repository) makes the move to
PyMongo's AsyncMongoClient a small change."""

from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import WriteConcern

MongoDatabase = AsyncIOMotorDatabase[dict[str, Any]]


def connect(url: str, database: str, *, timeout_ms: int = 5000) -> MongoDatabase:
    """A database handle with majority write concern; connects lazily on first use."""
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        tz_aware=True,
        uuidRepresentation="standard",
        appname="gridcase",
    )
    return client.get_database(database, write_concern=WriteConcern(w="majority"))


async def ping(database: MongoDatabase) -> None:
    """Raises if the server does not answer."""
    await database.command("ping")


def close(database: MongoDatabase) -> None:
    database.client.close()
