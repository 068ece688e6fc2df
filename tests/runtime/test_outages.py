"""An unavailable database or broker is a 503 with Retry-After in every service's API, and a
transient error for the consumers; a bad request to the database stays a 500."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pymongo.errors
import pytest
from fastapi import FastAPI
from kafka.errors import KafkaConnectionError

from gridcase_runtime.app import create_service_app
from gridcase_runtime.kafka_producer import PublishError
from gridcase_runtime.outages import is_transient
from gridcase_runtime.settings import ServiceSettings

BACKEND_LOST = pymongo.errors.OperationFailure(
    "failed to connect to `user=postgres database=postgres`", code=1
)
BAD_QUERY = pymongo.errors.OperationFailure("unknown operator: $nope", code=2)


@asynccontextmanager
async def nothing(_app: FastAPI) -> AsyncIterator[None]:
    yield


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (pymongo.errors.ServerSelectionTimeoutError("no servers"), True),
        (pymongo.errors.AutoReconnect("connection closed"), True),
        (pymongo.errors.NetworkTimeout("timed out"), True),
        (pymongo.errors.NotPrimaryError("not primary"), True),
        (BACKEND_LOST, True),
        (pymongo.errors.OperationFailure("shutting down", code=91), True),
        (KafkaConnectionError("refused"), True),
        (BAD_QUERY, False),
        (pymongo.errors.DuplicateKeyError("E11000", code=11000), False),
        (ValueError("bad record"), False),
    ],
)
def test_what_counts_as_an_outage(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


@pytest.mark.parametrize(
    "error",
    [
        pymongo.errors.ServerSelectionTimeoutError("no servers"),
        pymongo.errors.AutoReconnect("connection closed"),
        pymongo.errors.ConnectionFailure("refused"),
        pymongo.errors.NetworkTimeout("timed out"),
        BACKEND_LOST,
        PublishError("Kafka did not acknowledge"),
    ],
)
async def test_an_outage_is_a_503_with_retry_after(error: Exception) -> None:
    response = await _get_raising(error)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json() == {
        "type": "urn:gridcase:problem:unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "a backing service is unavailable; try again later",
    }


async def test_a_bad_database_request_stays_a_500() -> None:
    response = await _get_raising(BAD_QUERY)
    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert "$nope" not in response.text


async def _get_raising(error: Exception) -> httpx.Response:
    app = create_service_app(
        service="probe",
        settings=ServiceSettings(),
        lifespan=nothing,
        title="probe",
        description="probe",
        readiness_checks={},
        retry_after_s=7,
    )

    @app.get("/cases")
    async def cases() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as http:
        return await http.get("/cases")
