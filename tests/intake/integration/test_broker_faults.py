"""The broker itself stalled (SIGSTOP/SIGCONT) and killed (SIGKILL, then restarted) with
reports in flight: intake answers 503 meanwhile, says so in /readyz, and publishes again
on its own once the broker is back, each report once on the topic."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from intake.integration.support import bearer, intake_settings, report_body, topic_events
from private_servers import PrivateBroker

from gridcase_contracts.events import CaseReported
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(broker: PrivateBroker, mongo_url: str, namespace: str) -> IntakeSettings:
    return intake_settings(broker.bootstrap, mongo_url, namespace, publish_timeout_s=2.0)


@pytest.fixture(scope="module")
async def client(settings: IntakeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test", timeout=30
        ) as client,
    ):
        yield client


async def test_a_stalled_broker_gives_503_then_intake_recovers_on_its_own(
    client: httpx.AsyncClient, settings: IntakeSettings, broker: PrivateBroker
) -> None:
    auth = bearer(settings, "v-stall")
    await _accepted_while_healthy(client, auth)

    broker.pause()
    try:
        in_flight = await asyncio.gather(*(_post_keyed(client, auth) for _ in range(5)))
        assert {answer.status_code for _key, answer in in_flight} == {503}
        await asyncio.sleep(5)  # well past the delivery timeout of the stalled batches
        readiness = (await client.get("/readyz")).json()
        assert readiness["ready"] is False
        assert readiness["checks"]["kafka-producer"] in {"publishes failing", "no producer id"}
    finally:
        broker.resume()

    await _retried_until_accepted(client, settings, broker, [key for key, _ in in_flight], auth)


async def test_a_killed_and_restarted_broker_gives_503_then_intake_recovers_on_its_own(
    client: httpx.AsyncClient, settings: IntakeSettings, broker: PrivateBroker
) -> None:
    auth = bearer(settings, "v-kill")
    await _accepted_while_healthy(client, auth)

    broker.pause()  # so that the reports below are in flight, unacknowledged, at the kill
    sending = asyncio.gather(*(_post_keyed(client, auth) for _ in range(5)))
    await asyncio.sleep(0.5)
    broker.kill()
    in_flight = await sending
    assert {answer.status_code for _key, answer in in_flight} == {503}
    readiness = (await client.get("/readyz")).json()
    assert readiness["ready"] is False
    assert readiness["checks"]["kafka"] == "unreachable"
    assert readiness["checks"]["kafka-producer"] in {"publishes failing", "no producer id"}
    assert readiness["checks"]["mongodb"] == "ok"

    await asyncio.to_thread(broker.start)
    await _retried_until_accepted(client, settings, broker, [key for key, _ in in_flight], auth)


async def _accepted_while_healthy(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """A report accepted before the fault. The first publish of a fresh producer to a
    freshly started broker may outlast the 2 s publish timeout on a busy host (metadata,
    producer id), so it is retried with its key for up to 30 s."""
    key = {"Idempotency-Key": str(uuid.uuid4()), **auth}
    deadline = time.monotonic() + 30
    while (
        answer := await client.post("/v1/reports", json=report_body(), headers=key)
    ).status_code != 201:
        assert answer.status_code == 503, answer.text
        assert time.monotonic() < deadline, "no report accepted while the broker was healthy"
        await asyncio.sleep(0.5)


async def _post_keyed(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> tuple[str, httpx.Response]:
    key = str(uuid.uuid4())
    answer = await client.post(
        "/v1/reports", json=report_body(), headers={**auth, "Idempotency-Key": key}
    )
    return key, answer


async def _retried_until_accepted(
    client: httpx.AsyncClient,
    settings: IntakeSettings,
    broker: PrivateBroker,
    keys: list[str],
    auth: dict[str, str],
) -> None:
    """Retries each refused report with its key, as a client would, until all are accepted
    (within 60 s of the broker's return); then each is on the topic once, and intake is
    ready again."""
    accepted: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while len(accepted) < len(keys):
        assert time.monotonic() < deadline, f"only {len(accepted)} of {len(keys)} accepted"
        for key in set(keys) - set(accepted):
            answer = await client.post(
                "/v1/reports", json=report_body(), headers={**auth, "Idempotency-Key": key}
            )
            assert answer.status_code in {201, 503}, answer.text
            if answer.status_code == 201:
                accepted[key] = answer.json()["case_id"]
        await asyncio.sleep(0.5)
    assert (await client.get("/readyz")).json()["ready"] is True

    case_ids = set(accepted.values())
    assert len(case_ids) == len(keys)
    found = await asyncio.to_thread(
        topic_events,
        broker.bootstrap,
        settings.case_events_topic.name,
        lambda events: case_ids <= {event.case_id for event in events},
    )
    events = {
        event.event_id: event.case_id
        for event, _ in found
        if isinstance(event, CaseReported) and event.case_id in case_ids
    }
    assert sorted(events.values()) == sorted(case_ids)
