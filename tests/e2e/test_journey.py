"""A report's whole journey over HTTP through the four running services."""

from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from e2e.conftest import token
from e2e.journey import (
    URLS,
    act,
    case,
    case_in,
    eventually,
    report,
    reporter_sees,
    submit,
)

from gridcase_runtime.auth import Role
from gridcase_runtime.settings import ServiceSettings
from places import point_in

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def work_to_closed(
    http: httpx.AsyncClient,
    case_id: str,
    department: str,
    settings: ServiceSettings,
    supervisor: dict[str, str],
    watch: "Any" = None,
) -> dict[str, Any]:
    """A handler of `department` takes the case from assigned to closed, an inspector
    verifies it in between; `watch(status)` is awaited after every step."""
    assigned = await case_in(http, case_id, supervisor, "assigned")
    assert assigned["department"] == department
    handler = token(
        settings, Role.HANDLER, assigned["handler"] or f"h-{department}", department=department
    )
    steps: list[tuple[str, dict[str, Any], int, str]] = [
        ("accept", {}, 0, "accepted"),
        (
            "rectification-orders",
            {
                "measure": "rectification-order",
                "deadline": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
                "responsible_party": "Owner of No. 12, Riverside Road",
            },
            0,
            "in_remediation",
        ),
        ("progress", {"note": "Scaffolding up, wall being reinforced"}, 0, "in_remediation"),
        ("resolve", {"note": "Wall reinforced and inspected by the contractor"}, 1, "resolved"),
    ]
    for action, body, photos, status in steps:
        assert (await act(http, case_id, action, handler, body, photos=photos))["status"] == status
        if watch:
            await watch(status)
    verified = await act(
        http, case_id, "verify", supervisor, {"passed": True, "reason": "Checked on site"}
    )
    assert verified["status"] == "verified"
    if watch:
        await watch("verified")
    closed = await act(http, case_id, "close", handler, {"note": "Done"})
    assert closed["status"] == "closed"
    if watch:
        await watch("closed")
    return closed


async def test_a_volunteer_report_travels_to_a_verified_fix_and_into_the_figures(
    http: httpx.AsyncClient, settings: ServiceSettings, supervisor: dict[str, str]
) -> None:
    volunteer = token(settings, Role.VOLUNTEER, "v-e2e-1", team="team-07")
    case_id = await submit(http, volunteer, report("housing-safety", "D03"))

    assigned = await case_in(http, case_id, supervisor, "assigned")
    assert assigned["department"] == "housing-bureau"
    assert assigned["handler"]
    due = assigned["due"]
    assert {"accept", "first_response", "resolve", "verify"} <= set(due)
    assert due["accept"] < due["first_response"] < due["resolve"] < due["verify"]
    assert (await reporter_sees(http, case_id, volunteer, "assigned"))["department"] == (
        "housing-bureau"
    )

    async def reporter_follows(status: str) -> None:
        await reporter_sees(http, case_id, volunteer, status)

    closed = await work_to_closed(
        http, case_id, "housing-bureau", settings, supervisor, reporter_follows
    )
    kinds = [entry["event_type"] for entry in closed["timeline"]]
    assert kinds == [
        "CaseReported",
        "CaseAssigned",
        "CaseAccepted",
        "RectificationOrdered",
        "ProgressRecorded",
        "CaseResolved",
        "CaseVerified",
        "CaseClosed",
    ]

    confirmed = await act(http, case_id, "confirm", volunteer, {"satisfied": True, "rating": 5})
    assert "handler" not in confirmed, "the reporter gets the public view"
    assert (await case(http, case_id, supervisor))["satisfaction"]["rating"] == 5

    async def summary_now() -> dict[str, Any]:
        response = await http.get(
            f"{URLS['statistics']}/v1/stats/summary",
            params={"district": "D03", "category": "housing-safety"},
            headers=supervisor,
        )
        return dict(response.json())

    async def counted() -> dict[str, Any] | None:
        summary = await summary_now()
        return summary if summary.get("closed") == 1 and summary.get("found") == 1 else None

    summary = await eventually(
        counted, what="the statistics to count the closed case", observe=summary_now
    )
    assert summary["resolved"] == 1
    assert summary["satisfaction_rate"] == 1.0
    assert summary["open"] == 0
    assert summary["resolution_rate"] == 1.0

    year = datetime.now(UTC).astimezone().year
    period = await http.get(
        f"{URLS['statistics']}/v1/stats/report", params={"year": year}, headers=supervisor
    )
    assert period.status_code == 200
    assert "自建房安全" in period.json()["text_zh"]
    assert period.json()["counts"]["found"] >= 1


async def test_an_open311_request_is_routed_and_closed(
    http: httpx.AsyncClient, settings: ServiceSettings, supervisor: dict[str, str], api_key: str
) -> None:
    created = await http.post(
        f"{URLS['intake']}/open311/v2/requests.json",
        data={
            "api_key": api_key,
            "service_code": "urban-management",
            "lat": str(point_in("D04")[0]),
            "long": str(point_in("D04")[1]),
            "description": "Street stalls block the fire lane every evening",
        },
    )
    assert created.status_code == 201, created.text
    case_id = created.json()[0]["service_request_id"]

    await work_to_closed(http, case_id, "urban-management-bureau", settings, supervisor)

    async def closed_in_open311() -> dict[str, Any] | None:
        response = await http.get(f"{URLS['intake']}/open311/v2/requests/{case_id}.json")
        request = response.json()[0] if response.status_code == 200 else {}
        return request if request.get("status") == "closed" else None

    request = await eventually(closed_in_open311, what="Open311 to show the request closed")
    assert request["service_code"] == "urban-management"
    as_xml = await http.get(f"{URLS['intake']}/open311/v2/requests/{case_id}.xml")
    root = ElementTree.fromstring(as_xml.content)
    assert root.findtext("request/service_request_id") == case_id
    assert root.findtext("request/status") == "closed"


async def test_a_report_by_its_point_alone_is_routed_to_that_district(
    http: httpx.AsyncClient, settings: ServiceSettings, supervisor: dict[str, str]
) -> None:
    volunteer = token(settings, Role.VOLUNTEER, "v-e2e-6")
    body = report("other", "D05", spot=5)
    body["location"] = {key: body["location"][key] for key in ("lat", "lon")}
    case_id = await submit(http, volunteer, body)
    assigned = await case_in(http, case_id, supervisor, "assigned")
    assert assigned["department"] == "district-d05"
    seen = await reporter_sees(http, case_id, volunteer, "assigned")
    assert (seen["district"]["code"], seen["community"]["code"]) == ("D05", "D05-C06")


async def test_a_second_report_of_the_same_hazard_is_merged(
    http: httpx.AsyncClient, settings: ServiceSettings, supervisor: dict[str, str]
) -> None:
    first = token(settings, Role.VOLUNTEER, "v-e2e-2")
    second = token(settings, Role.VOLUNTEER, "v-e2e-3")
    primary = await submit(http, first, report("sanitation", "D05", spot=3))
    await case_in(http, primary, supervisor, "assigned")
    nearby = report(
        "sanitation",
        "D05",
        spot=3,
        shift_m=15,
        description="Rubbish piling up next to the same bins",
    )
    duplicate = await submit(http, second, nearby)

    merged = await case_in(http, duplicate, supervisor, "duplicate")
    assert merged["duplicate_of"] == primary
    seen = await reporter_sees(http, duplicate, second, "duplicate")
    assert seen["duplicate_of"] == primary


async def test_a_returned_case_is_rerouted(
    http: httpx.AsyncClient, settings: ServiceSettings, supervisor: dict[str, str]
) -> None:
    volunteer = token(settings, Role.VOLUNTEER, "v-e2e-4")
    case_id = await submit(http, volunteer, report("fire-safety", "D06", spot=1))
    assigned = await case_in(http, case_id, supervisor, "assigned")
    first_department = assigned["department"]
    handler = token(
        settings, Role.HANDLER, assigned["handler"] or "h-fire-1", department=first_department
    )
    returned = await act(
        http, case_id, "return", handler, {"reason": "A private property matter for the district"}
    )
    assert returned["status"] == "returned"

    async def rerouted() -> dict[str, Any] | None:
        current = await case(http, case_id, supervisor)
        moved = current["status"] == "assigned" and current["department"] != first_department
        return current if moved else None

    current = await eventually(rerouted, what="the returned case to be rerouted")
    assert current["returns"] == 1
    assert current["department"] in (*assigned["co_departments"], "district-d06")


async def test_an_overdue_stage_climbs_the_escalation_ladder(
    http: httpx.AsyncClient, settings: ServiceSettings, supervisor: dict[str, str]
) -> None:
    volunteer = token(settings, Role.VOLUNTEER, "v-e2e-5")
    case_id = await submit(
        http, volunteer, report("traffic-safety", "D07", severity="critical", spot=2)
    )
    await case_in(http, case_id, supervisor, "assigned")

    async def fully_escalated() -> dict[str, Any] | None:
        response = await http.get(
            f"{URLS['assignment']}/supervisor/cases/{case_id}", headers=supervisor
        )
        ladders = response.json().get("escalations", []) if response.status_code == 200 else []
        accept = next((ladder for ladder in ladders if ladder["stage"] == "accept"), None)
        return accept if accept and accept["levels_fired"] == [1, 2, 3] else None

    ladder = await eventually(fully_escalated, timeout_s=60, what="levels 1, 2 and 3 to fire")
    assert ladder["overdue_at"] is not None

    escalated = await eventually(
        lambda: _flagged(http, case_id, supervisor), what="the case to carry its flags"
    )
    assert "accept" in escalated["flags"]["overdue_stages"]
    assert escalated["flags"]["escalation_level"] == 3
    # Only the accept stage's events: a slow run can also see first_response (due at
    # about 14 s) fall overdue and start its own ladder.
    accept_kinds = [
        entry["event_type"]
        for entry in escalated["timeline"]
        if entry["payload"].get("stage") == "accept"
    ]
    assert accept_kinds.count("CaseOverdue") == 1
    assert accept_kinds.count("CaseEscalated") == 3


async def _flagged(http: httpx.AsyncClient, case_id: str, headers: dict[str, str]) -> Any:
    current = await case(http, case_id, headers)
    return current if current["flags"]["escalation_level"] == 3 else None


async def test_prometheus_scraped_every_service_and_sees_the_business_figures(
    http: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    async def query(expression: str) -> list[dict[str, Any]]:
        response = await http.get(
            f"{URLS['prometheus']}/api/v1/query", params={"query": expression}
        )
        assert response.status_code == 200, response.text
        return list(response.json()["data"]["result"])

    async def all_up() -> list[dict[str, Any]] | None:
        results = await query(
            'max by (job) (up{job=~"intake|assignment|remediation-tracking|statistics"}) == 1'
        )
        return results if len(results) == 4 else None

    await eventually(all_up, timeout_s=60, what="Prometheus to scrape all four services")

    async def business() -> list[dict[str, Any]] | None:
        results = await query('gridcase_found_cases{job="statistics"} > 0')
        return results or None

    found = await eventually(business, timeout_s=60, what="business metrics in Prometheus")
    assert {result["metric"]["category"] for result in found}
    published = await query('sum(gridcase_events_published_total{job="intake"})')
    assert float(published[0]["value"][1]) >= 1
