"""Open311's public reads on the real servers: only notes marked public, pages capped, and
a rate limit per client address."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from xml.etree import ElementTree

import httpx
import pytest
from fastapi import FastAPI
from intake.integration.support import intake_settings, start_of_a_window

from gridcase_contracts.events import (
    Actor,
    CaseReopened,
    CaseReopenedPayload,
    ProgressRecorded,
    ProgressRecordedPayload,
    new_event,
)
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app

pytestmark = pytest.mark.integration

READS_PER_MINUTE = 40
FORM = {
    "service_code": "fire-safety",
    "lat": "26.9",
    "long": "112.6",
    "description": "Blocked fire exit in the market hall",
}


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str, mongo_url: str, namespace: str) -> IntakeSettings:
    return intake_settings(
        kafka_bootstrap, mongo_url, namespace, open311_reads_per_minute=READS_PER_MINUTE
    )


@pytest.fixture(scope="module")
async def app(settings: IntakeSettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client_at(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://intake.test")


@pytest.fixture(scope="module")
async def served(app: FastAPI) -> AsyncIterator[tuple[Intake, httpx.AsyncClient]]:
    async with client_at(app) as client:
        yield app.state.components.intake, client


async def forget_reads(intake: Intake) -> None:
    """A fresh window for this test's reads: ends every counted window."""
    await intake.limits.sweep(datetime(3000, 1, 1, tzinfo=UTC))
    await start_of_a_window()


async def test_only_public_notes_leave_through_open311(
    served: tuple[Intake, httpx.AsyncClient], settings: IntakeSettings
) -> None:
    intake, client = served
    await forget_reads(intake)
    api_key, _ = await intake.issue_api_key("notes-app", by="a-1")
    created = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    assert created.status_code == 201, created.text
    case_id = created.json()[0]["service_request_id"]
    by = Actor(actor_id="h-1", role="handler", department="fire-rescue")
    internal = "Verification failed: the owner bribed the inspector (file 7)"
    for kind, payload in (
        (ProgressRecorded, ProgressRecordedPayload(note="Exit cleared", by=by)),
        (CaseReopened, CaseReopenedPayload(reason=internal, by=by)),
    ):
        await intake.cases.apply(
            new_event(kind, case_id=case_id, occurred_at=datetime.now(UTC), payload=payload)
        )
    for path in (f"/open311/v2/requests/{case_id}", "/open311/v2/requests"):
        as_json = await client.get(f"{path}.json?extensions=true&api_key={api_key}")
        assert internal not in as_json.text
        [view] = [r for r in as_json.json() if r["service_request_id"] == case_id]
        assert view["status_notes"] == "Exit cleared"
        assert [n["note"] for n in view["extended_attributes"]["notes"]] == ["Exit cleared"]
        as_xml = await client.get(f"{path}.xml?extensions=true&api_key={api_key}")
        assert internal not in as_xml.content.decode()
        ElementTree.fromstring(as_xml.content)


async def test_pages_are_capped(served: tuple[Intake, httpx.AsyncClient]) -> None:
    intake, client = served
    await forget_reads(intake)
    too_big = await client.get("/open311/v2/requests.json?page_size=101")
    assert too_big.status_code == 400
    assert "page_size must be a whole number from 1 to 100" in too_big.json()[0]["description"]
    assert (await client.get("/open311/v2/requests.json?page_size=100")).status_code == 200
    too_deep = await client.get("/open311/v2/requests.json?page=1001")
    assert too_deep.status_code == 400
    ids = ",".join(f"GC-20261130-{n:08d}" for n in range(101))
    too_many = await client.get(f"/open311/v2/requests.json?service_request_id={ids}")
    assert too_many.status_code == 400
    assert "at most 100 ids" in too_many.json()[0]["description"]


async def test_reads_are_rate_limited_per_client_address(
    app: FastAPI, served: tuple[Intake, httpx.AsyncClient]
) -> None:
    intake, client = served
    await forget_reads(intake)
    statuses = [
        (await client.get("/open311/v2/services.json")).status_code for _ in range(READS_PER_MINUTE)
    ]
    assert statuses == [200] * READS_PER_MINUTE
    refused = await client.get("/open311/v2/requests.xml")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    error = ElementTree.fromstring(refused.content)
    assert error.findtext("error/code") == "429"
    async with client_at(app, "203.0.113.9") as elsewhere:
        assert (await elsewhere.get("/open311/v2/services.json")).status_code == 200
