"""The shared app shell: health, readiness, metrics, correlation ids, role checks."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI

from gridcase_runtime.app import create_service_app
from gridcase_runtime.auth import Principal, Role, require_roles
from gridcase_runtime.health import NotReadyError
from gridcase_runtime.metrics import EndToEndSamples, observe_end_to_end
from gridcase_runtime.settings import ServiceSettings
from identity import mint_token


@asynccontextmanager
async def nothing(_app: FastAPI) -> AsyncIterator[None]:
    yield


async def healthy() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("mongo down at 10.0.0.7:27017")


async def without_producer_id() -> None:
    raise NotReadyError("no producer id")


def build(checks: dict[str, object]) -> FastAPI:
    app = create_service_app(
        service="probe",
        settings=ServiceSettings(),
        lifespan=nothing,
        title="probe",
        description="probe",
        readiness_checks=checks,  # type: ignore[arg-type]
    )

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.post("/notes")
    async def note(note: dict[str, str]) -> dict[str, str]:
        return note

    @app.get("/supervision")
    async def supervision(
        principal: Annotated[Principal, require_roles(Role.SUPERVISOR)],
    ) -> dict[str, str]:
        return {"who": principal.subject}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe")


def test_the_document_lists_401_403_400_and_503_where_they_can_happen() -> None:
    paths = build({}).openapi()["paths"]
    assert set(paths["/supervision"]["get"]["responses"]) == {"200", "401", "403", "503"}
    assert set(paths["/items/{item_id}"]["get"]["responses"]) == {"200", "422", "503"}
    assert set(paths["/notes"]["post"]["responses"]) == {"200", "400", "422", "503"}
    invalid = paths["/notes"]["post"]["responses"]["422"]["content"]
    assert invalid == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/ValidationProblem"}}
    }


async def test_readiness_reports_each_dependency_by_its_state_only() -> None:
    checks = {"kafka": healthy, "producer": without_producer_id, "mongo": broken}
    async with client(build(checks)) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "checks": {"kafka": "ok", "producer": "no producer id", "mongo": "unreachable"},
    }


async def test_metrics_count_requests_per_route_template() -> None:
    async with client(build({})) as http:
        await http.get("/items/1")
        await http.get("/items/2", headers={"X-Correlation-ID": "abc"})
        echoed = (await http.get("/items/3", headers={"X-Correlation-ID": "abc"})).headers
        exposition = (await http.get("/metrics")).text
    assert echoed["x-correlation-id"] == "abc"
    line = next(
        line
        for line in exposition.splitlines()
        if line.startswith("gridcase_http_requests_total{")
        and 'route="/items/{item_id}"' in line
        and 'service="probe"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) >= 3


async def test_exact_end_to_end_latencies_are_served_by_accept_time() -> None:
    base = 1_800_000_000_000_000_000
    observe_end_to_end("probe", base, base + 12_345_000)
    observe_end_to_end("probe", base + 1_000, base + 98_765_000)
    async with client(build({})) as http:
        served = (await http.get("/metrics/end-to-end", params={"since_ns": base + 1})).json()
        histogram = (await http.get("/metrics")).text
    assert served["latencies_us"] == [98_764]
    assert 'gridcase_event_end_to_end_seconds_count{service="probe"} 2.0' in histogram


def test_end_to_end_samples_keep_only_the_latest() -> None:
    samples = EndToEndSamples(capacity=3)
    for n in range(5):
        samples.record(ingest_ns=n, latency_ns=n * 1000)
    assert samples.accepted_since(0) == [2, 3, 4]


@pytest.mark.parametrize(("role", "status"), [(Role.SUPERVISOR, 200), (Role.VOLUNTEER, 403)])
async def test_roles_are_checked(role: Role, status: int) -> None:
    token = mint_token(ServiceSettings(), subject="u-1", role=role)
    async with client(build({})) as http:
        response = await http.get("/supervision", headers={"Authorization": f"Bearer {token}"})
        anonymous = await http.get("/supervision")
    assert response.status_code == status
    assert anonymous.status_code == 401


async def test_docs_page_loads_swagger_ui_from_the_service_itself() -> None:
    async with client(build({})) as http:
        page = (await http.get("/docs")).text
        assert "http" not in page.replace("http://www.w3.org", "")
        script = await http.get("/docs-assets/swagger-ui-bundle.js")
        stylesheet = await http.get("/docs-assets/swagger-ui.css")
    assert 'src="docs-assets/swagger-ui-bundle.js"' in page
    assert 'href="docs-assets/swagger-ui.css"' in page
    assert "url: 'openapi.json'" in page
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert stylesheet.status_code == 200
    assert ".swagger-ui" in stylesheet.text
