"""The service in-process on the real broker: a stream of lifecycle events yields exact
figures, served only once the table has recovered."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gridcase_contracts.codes import Category, District, Stage
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.api import create_app
from identity import mint_token
from producers import AsProducers

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> StatsSettings:
    return StatsSettings(
        **service_env, data_dir=Path(tmp_path_factory.mktemp("faust")), metrics_refresh_s=0.1
    )


async def poll(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def service(settings: StatsSettings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stats") as http,
    ):
        yield app, http


async def test_lifecycle_events_yield_exact_figures(
    service: tuple[FastAPI, httpx.AsyncClient],
    settings: StatsSettings,
    fixed: Any,
    story: Any,
    may_day: datetime,
    scrape: Any,
) -> None:
    _, http = service
    ready = await poll(lambda: http.get("/readyz"), lambda r: r.status_code == 200)
    assert ready.status_code == 200, ready.text

    events = []
    for index in range(12):
        district = District.D01 if index % 2 else District.D02
        events += fixed(f"GC-int-fixed-{index:02d}", may_day, district=district).events
    for index in range(5):
        events += (
            story(f"GC-int-late-{index:02d}", may_day, category=Category.SANITATION)
            .assigned(1, "sanitation-division")
            .overdue(26, Stage.ACCEPT)
            .escalated(26, 1)
            .events
        )
    events += story("GC-int-rejected", may_day).assigned(1).rejected(2).events
    events += story("GC-int-duplicate", may_day).duplicate(1, "GC-int-fixed-00").events
    await asyncio.to_thread(
        ensure_topics, settings.kafka_bootstrap_servers, [settings.case_events_topic]
    )
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service="test",
        signer=AsProducers(),
    )
    await publisher.publish_many(events)
    await publisher.publish_many(events[:10])  # a producer retry: the same events again
    publisher.close()

    token = mint_token(settings, subject="s-1", role=Role.SUPERVISOR)
    headers = {"Authorization": f"Bearer {token}"}
    response = await poll(
        lambda: http.get("/v1/stats/summary", headers=headers),
        lambda r: r.status_code == 200 and r.json()["reported"] == 19 and r.json()["closed"] == 12,
    )
    body = response.json()
    assert body["reported"] == 19
    assert body["found"] == 18
    assert body["resolved"] == 12
    assert body["closed"] == 12
    assert body["rejected"] == 1
    assert body["duplicate"] == 1
    assert body["overdue"] == 5
    assert body["escalated"] == 5
    assert body["open"] == 5
    assert body["overdue_open"] == 5
    assert body["resolution_rate"] == round(12 / 18, 4)

    report = await http.get("/v1/stats/report", params={"year": 2026}, headers=headers)
    assert report.json()["text_zh"] == "排查自建房安全、环境卫生方面隐患问题18个，已化解12个"

    expected = [
        'gridcase_overdue_open_cases{department="sanitation-division",stage="accept"} 5.0',
        'gridcase_escalation_levels{level="1"} 5.0',
        'gridcase_resolved_cases{category="housing-safety"} 12.0',
    ]
    metrics = await scrape(http, lambda text: all(line in text for line in expected))
    assert [line for line in expected if line not in metrics] == []
