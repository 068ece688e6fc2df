"""Kafka unreachable (through a proxy the test cuts; the shared broker keeps running):
503 with Retry-After within a bounded time, then recovery without restarting intake."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from intake.integration.kafka_proxy import KafkaProxy
from intake.integration.support import bearer, intake_settings, report_body, topic_events

from gridcase_contracts.events import CaseReported
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proxy(kafka_bootstrap: str) -> Iterator[KafkaProxy]:
    proxy = KafkaProxy(kafka_bootstrap)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def settings(
    kafka_bootstrap: str, mongo_url: str, namespace: str, proxy: KafkaProxy
) -> IntakeSettings:
    return intake_settings(
        proxy.bootstrap, mongo_url, namespace, publish_timeout_s=2.0, idempotency_lease_s=10.0
    )


@pytest.fixture(scope="module")
async def client(settings: IntakeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client,
    ):
        yield client


async def test_outage_gives_503_then_recovers_without_a_restart(
    client: httpx.AsyncClient, settings: IntakeSettings, proxy: KafkaProxy, kafka_bootstrap: str
) -> None:
    auth = bearer(settings, "v-outage")
    before = await client.post("/v1/reports", json=report_body(), headers=auth)
    assert before.status_code == 201

    proxy.cut()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    started = time.monotonic()
    first, concurrent = await asyncio.gather(
        client.post("/v1/reports", json=report_body(), headers={**auth, **key}),
        _after(0.5, client.post("/v1/reports", json=report_body(), headers={**auth, **key})),
    )
    assert first.status_code == 503
    assert int(first.headers["retry-after"]) > 0
    assert time.monotonic() - started < 6
    assert concurrent.status_code == 409
    assert (await client.get("/readyz")).status_code == 503

    proxy.restore()
    # within seconds, as a client would retry: the producer reconnects on its own backoff
    for _ in range(20):
        retried = await client.post("/v1/reports", json=report_body(), headers={**auth, **key})
        if retried.status_code != 503:
            break
        await asyncio.sleep(0.5)
    assert retried.status_code == 201, retried.text
    fresh = await client.post("/v1/reports", json=report_body(), headers=auth)
    assert fresh.status_code == 201

    case_ids = {retried.json()["case_id"], fresh.json()["case_id"]}
    found = await asyncio.to_thread(
        topic_events,
        kafka_bootstrap,
        settings.case_events_topic.name,
        lambda events: case_ids <= {e.case_id for e in events},
    )
    reported = [e for e, _ in found if isinstance(e, CaseReported)]
    assert sorted(e.case_id for e in reported) == sorted([before.json()["case_id"], *case_ids])


async def _after(
    delay_s: float, request: "asyncio.Future[httpx.Response] | object"
) -> httpx.Response:
    await asyncio.sleep(delay_s)
    return await request  # type: ignore[misc]
