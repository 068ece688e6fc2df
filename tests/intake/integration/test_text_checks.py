"""Free text on the real servers: control characters and markup refused by field, after the
rate limit, and the Open311 XML feed well-formed whatever a stored description holds."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from xml.etree import ElementTree

import httpx
import pytest
from intake.integration.support import (
    bearer,
    intake_settings,
    issued_api_key,
    report_body,
    start_of_a_window,
)

from gridcase_contracts.codes import Category, Channel, District, Severity
from gridcase_contracts.events import CaseReported, CaseReportedPayload, Location, new_event
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.open311 import client_reporter
from gridcase_intake.entrypoints.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(kafka_bootstrap: str, mongo_url: str, namespace: str) -> IntakeSettings:
    return intake_settings(kafka_bootstrap, mongo_url, namespace, reports_per_minute=2)


@pytest.fixture(scope="module")
async def app_and_client(
    settings: IntakeSettings,
) -> AsyncIterator[tuple[Intake, httpx.AsyncClient]]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client,
    ):
        yield app.state.components.intake, client


async def test_a_control_character_gets_a_422_naming_the_field(
    app_and_client: tuple[Intake, httpx.AsyncClient], settings: IntakeSettings
) -> None:
    _, client = app_and_client
    bell = await client.post(
        "/v1/reports",
        json=report_body(description="Wall \x07 cracked"),
        headers=bearer(settings, "v-bell"),
    )
    assert bell.status_code == 422
    [error] = bell.json()["errors"]
    assert error["loc"] == ["body", "description"]
    assert "U+0007" in error["msg"]
    location = {**report_body()["location"], "address": "12 Riverside\nRd"}
    address = await client.post(
        "/v1/reports", json=report_body(location=location), headers=bearer(settings, "v-nl")
    )
    assert address.status_code == 422
    assert address.json()["errors"][0]["loc"] == ["body", "location", "address"]


async def test_text_is_checked_only_after_the_rate_limit(
    app_and_client: tuple[Intake, httpx.AsyncClient], settings: IntakeSettings
) -> None:
    _, client = app_and_client
    auth = bearer(settings, "v-flood")
    adversarial = report_body(description="<" + " " * 3998 + "x")
    await start_of_a_window()
    answers = [
        (await client.post("/v1/reports", json=adversarial, headers=auth)).status_code
        for _ in range(3)
    ]
    assert answers == [201, 201, 429]
    markup = await client.post(
        "/v1/reports", json=report_body(description="<b>x</b>"), headers=auth
    )
    assert markup.status_code == 429, "over the limit, the text is not even looked at"


async def test_open311_refuses_control_characters_naming_the_parameter(
    app_and_client: tuple[Intake, httpx.AsyncClient], settings: IntakeSettings
) -> None:
    _, client = app_and_client
    form = {
        "service_code": "sanitation",
        "lat": "26.9",
        "long": "112.6",
        "description": "Bins\x00 overflowing",
        "api_key": await issued_api_key(client, settings, "ctl-app"),
    }
    refused = await client.post("/open311/v2/requests.xml", data=form)
    assert refused.status_code == 400
    description = ElementTree.fromstring(refused.content).findtext("error/description") or ""
    assert description.startswith("description: control character U+0000")


async def test_the_xml_feed_is_well_formed_whatever_a_description_holds(
    app_and_client: tuple[Intake, httpx.AsyncClient],
) -> None:
    intake, client = app_and_client
    hostile = "".join(map(chr, range(1, 32))) + "\ufffe]]><x/>&amp;"
    event = new_event(
        CaseReported,
        case_id="GC-20261130-C7R10000",
        occurred_at=datetime.now(UTC),
        payload=CaseReportedPayload(
            category=Category.SANITATION,
            severity=Severity.LOW,
            description=hostile,
            location=Location(lat=26.9, lon=112.6, district=District.D07),
            reporter=client_reporter("older-app"),
            channel=Channel.OPEN311,
        ),
    )
    await intake.cases.apply(event)
    for path in (
        "/open311/v2/requests.xml?service_code=sanitation",
        f"/open311/v2/requests/{event.case_id}.xml",
    ):
        answer = await client.get(path)
        assert answer.status_code == 200
        root = ElementTree.fromstring(answer.content)
        [stored] = [
            r for r in root.findall("request") if r.findtext("service_request_id") == event.case_id
        ]
        assert (stored.findtext("description") or "").endswith("\ufffd]]><x/>&amp;")
