"""The HTTP API over an in-memory case source: who may read, parameters, formats."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from gridcase_contracts.codes import Category
from gridcase_runtime.auth import Role
from gridcase_stats.adapters.fakes import FakeCaseSource
from identity import mint_token

from .conftest import SETTINGS


def bearer(role: Role, department: str | None = None) -> dict[str, str]:
    token = mint_token(SETTINGS, subject="reader", role=role, department=department)
    return {"Authorization": f"Bearer {token}"}


SUPERVISOR = bearer(Role.SUPERVISOR)


@pytest.fixture
def source(fixed: Any, story: Any, may_day: datetime) -> FakeCaseSource:
    events = [
        *fixed("GC-api-1", may_day).events,
        *fixed("GC-api-2", may_day, category=Category.FIRE_SAFETY).events,
        *story("GC-api-3", may_day).assigned(1, "fire-rescue").events,
    ]
    return FakeCaseSource(events)  # type: ignore[arg-type]


async def test_summary_for_a_supervisor(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/stats/summary", params={"from": "2026-05-04", "to": "2026-05-31"}, headers=SUPERVISOR
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["found"], body["resolved"], body["closed"], body["open"]) == (3, 2, 2, 1)
    assert body["resolution_rate"] == round(2 / 3, 4)
    assert body["from"] == "2026-05-04T00:00:00+08:00"
    assert body["to"] == "2026-06-01T00:00:00+08:00"


async def test_a_window_without_the_cases_counts_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/stats/summary", params={"to": "2026-05-03"}, headers=SUPERVISOR
    )
    assert (response.json()["found"], response.json()["resolution_rate"]) == (0, None)


async def test_a_handler_sees_only_their_department(client: httpx.AsyncClient) -> None:
    fire = bearer(Role.HANDLER, "fire-rescue")
    response = await client.get("/v1/stats/summary", headers=fire)
    assert response.json()["found"] == 1
    assert response.json()["filters"]["department"] == "fire-rescue"
    other = await client.get(
        "/v1/stats/summary", params={"department": "housing-bureau"}, headers=fire
    )
    assert other.status_code == 403


async def test_volunteers_and_anonymous_callers_may_not_read(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/stats/summary")).status_code == 401
    volunteer = bearer(Role.VOLUNTEER)
    assert (await client.get("/v1/stats/summary", headers=volunteer)).status_code == 403


async def test_bad_parameters_are_named(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/stats/summary", params={"from": "May"}, headers=SUPERVISOR)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "from"]
    response = await client.get("/v1/stats/summary", params={"district": "D99"}, headers=SUPERVISOR)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "district"]
    response = await client.get(
        "/v1/stats/report", params={"year": 2026, "from": "2026-01-01"}, headers=SUPERVISOR
    )
    assert response.status_code == 422
    response = await client.get("/v1/stats/leaderboard", params={"rank": "x"}, headers=SUPERVISOR)
    assert response.json()["errors"][0]["loc"] == ["query", "rank"]


async def test_timeseries_and_leaderboard(client: httpx.AsyncClient) -> None:
    series = await client.get(
        "/v1/stats/timeseries",
        params={"metric": "resolved", "interval": "week", "group_by": "category"},
        headers=SUPERVISOR,
    )
    assert series.json()["points"] == [
        {"period": "2026-W19", "category": "fire-safety", "value": 1},
        {"period": "2026-W19", "category": "housing-safety", "value": 1},
    ]
    board = await client.get(
        "/v1/stats/leaderboard", params={"by": "department"}, headers=SUPERVISOR
    )
    entries = board.json()["entries"]
    assert [(e["department"], e["rank"], e["resolution_rate"]) for e in entries] == [
        ("housing-bureau", 1, 1.0),
        ("fire-rescue", 2, 0.0),
    ]
    by_district = await client.get("/v1/stats/leaderboard", headers=SUPERVISOR)
    assert [
        (e["district"], e["name_zh"], e["name_en"], e["found"])
        for e in by_district.json()["entries"]
    ] == [("D03", "城中区", "Chengzhong District", 3)]


async def test_report_in_the_seeds_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/stats/report", params={"year": 2026}, headers=SUPERVISOR)
    body = response.json()
    assert body["counts"]["found"] == 3
    assert body["text_zh"] == "排查自建房安全、消防安全方面隐患问题3个，已化解2个"
    assert body["text_en"] == (
        "Found 3 hidden hazards in self-built housing safety and fire safety; resolved 2."
    )
    assert body["from"] == "2026-01-01T00:00:00+08:00"


async def test_any_table_exports_as_csv(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/stats/export/counts", params={"interval": "month"}, headers=SUPERVISOR
    )
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("period,district,category,department,team,reported,found")
    assert len(lines) == 1 + 3  # one row per (category, department) of the three cases
    as_json = await client.get(
        "/v1/stats/export/participation", params={"format": "json"}, headers=SUPERVISOR
    )
    assert as_json.json()["rows"] == [{"team": "team-01", "person_times": 3, "volunteers": 1}]
    missing = await client.get("/v1/stats/export/nothing", headers=SUPERVISOR)
    assert missing.status_code == 404
    assert "counts" in missing.json()["detail"]


async def test_chart_is_a_png(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/stats/chart.png", params={"interval": "day"}, headers=SUPERVISOR
    )
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


async def test_business_metrics_are_exposed(client: httpx.AsyncClient, scrape: Any) -> None:
    text = await scrape(client, lambda text: "gridcase_open_cases{" in text)
    assert 'gridcase_open_cases{category="housing-safety",district="D03"} 1.0' in text
    assert 'gridcase_found_cases{category="fire-safety"} 1.0' in text
    assert 'gridcase_resolution_rate{district="D03"} 0.6667' in text
    assert 'gridcase_backlog_cases{age_bucket="30d+"}' in text


async def test_nothing_is_answered_before_the_tables_recovered(
    client: httpx.AsyncClient, source: FakeCaseSource, scrape: Any
) -> None:
    source.recovered = False
    response = await client.get("/v1/stats/summary", headers=SUPERVISOR)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert (await client.get("/readyz")).status_code == 503
    metrics = await scrape(client, lambda text: "gridcase_open_cases{" not in text)
    assert "gridcase_open_cases{" not in metrics
    source.recovered = True
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/stats/summary", {"from": ""}, "from"),
        ("/v1/stats/summary", {"from": "2026-05-02", "to": "2026-05-01"}, "to"),
        ("/v1/stats/report", {"year": 2026, "from": "2026-01-01"}, "year"),
        ("/v1/stats/leaderboard", {"rank": "x"}, "rank"),
        ("/v1/stats/summary", {"to": "9999-12-31"}, "to"),
        ("/v1/stats/summary", {"from": "0001-01-01T00:00:00+14:00"}, "from"),
    ],
)
async def test_every_422_has_the_shape_the_document_promises(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], field: str
) -> None:
    response = await client.get(path, params=params, headers=SUPERVISOR)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["loc"], error["type"]) == (["query", field], "value_error")
    assert error["msg"]
