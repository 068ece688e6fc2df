"""The service end to end on the real broker and Mongo-wire server: the handler,
inspector and reporter API, redelivery, other departments, exports, and replay."""

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from remediation.integration.cases import assigned, new_case_id, reported
from remediation.integration.harness import (
    bearer,
    case_version,
    consumed_everything,
    eventually,
    history_hash,
    png,
    publish,
    running_service,
    settings_for,
    topic_events,
)

from gridcase_contracts.codes import Category
from gridcase_remediation.bootstrap import Components
from gridcase_remediation.config import RemediationSettings
from gridcase_runtime.auth import Role
from gridcase_runtime.photos import check_photo

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def handler(settings: RemediationSettings) -> dict[str, str]:
    return bearer(settings, "h-1", Role.HANDLER, "housing-bureau")


@pytest.fixture(scope="module")
def inspector(settings: RemediationSettings) -> dict[str, str]:
    return bearer(settings, "s-1", Role.SUPERVISOR)


async def an_assigned_case(
    settings: RemediationSettings,
    parts: Components,
    *,
    category: Category = Category.HOUSING_SAFETY,
) -> str:
    case_id = new_case_id()
    await publish(settings, [reported(case_id, category=category), assigned(case_id)])

    async def assigned_here() -> bool:
        return await case_version(parts, case_id) == 2

    await eventually(assigned_here)
    return case_id


async def test_a_case_goes_from_assignment_to_closure_through_the_api(
    settings: RemediationSettings,
    service: tuple[httpx.AsyncClient, Components],
    handler: dict[str, str],
    inspector: dict[str, str],
) -> None:
    http, parts = service
    case_id = await an_assigned_case(settings, parts)
    read = await http.get(f"/v1/cases/{case_id}", headers=handler)
    assert read.status_code == 200
    assert read.headers["etag"] == '"2"'
    body = read.json()
    assert (body["status"], body["department"], body["handler"]) == (
        "assigned",
        "housing-bureau",
        "h-1",
    )
    assert set(body["due"]) == {"accept", "first_response", "resolve", "verify"}
    assert [e["event_type"] for e in body["timeline"]] == ["CaseReported", "CaseAssigned"]

    path = f"/v1/cases/{case_id}"
    assert (await http.post(f"{path}/accept", headers=handler)).status_code == 428
    stale = await http.post(f"{path}/accept", headers={**handler, "If-Match": '"1"'})
    assert (stale.status_code, stale.json()["current_version"]) == (412, 2)
    early = await http.post(f"{path}/close", headers={**handler, "If-Match": '"2"'})
    assert early.status_code == 409
    assert early.json()["allowed_actions"] == ["accept", "reject", "return"]
    assert await case_version(parts, case_id) == 2

    accepted = await http.post(f"{path}/accept", headers={**handler, "If-Match": '"2"'})
    assert (accepted.status_code, accepted.headers["etag"]) == (200, '"3"')
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    ordered = await http.post(
        f"{path}/rectification-orders",
        headers=handler,
        json={
            "measure": "rectification-order",
            "deadline": deadline,
            "responsible_party": "house owner",
            "expected_version": 3,
        },
    )
    assert ordered.status_code == 200, ordered.text
    assert ordered.json()["status"] == "in_remediation"
    no_photo = await http.post(
        f"{path}/resolve", headers=handler, json={"note": "wall rebuilt", "expected_version": 4}
    )
    assert no_photo.status_code == 422
    assert no_photo.json()["errors"][0]["loc"] == ["body", "photos"]
    resolved = await http.post(
        f"{path}/resolve",
        headers={**handler, "If-Match": '"4"'},
        data={"note": "wall rebuilt"},
        files=[("photos", ("after.png", png(), "image/png"))],
    )
    assert resolved.status_code == 200, resolved.text
    photo = resolved.json()["timeline"][-1]["payload"]["photos"][0]
    fetched = await http.get(photo["url"], headers=inspector)
    assert (fetched.status_code, fetched.headers["content-type"]) == (200, "image/png")

    verified = await http.post(
        f"{path}/verify", headers=inspector, json={"passed": True, "expected_version": 5}
    )
    assert verified.json()["status"] == "verified"
    reporter = bearer(settings, "volunteer-1", Role.VOLUNTEER)
    stranger = bearer(settings, "volunteer-2", Role.VOLUNTEER)
    rating = {"satisfied": True, "rating": 5, "expected_version": 6}
    assert (await http.post(f"{path}/confirm", headers=stranger, json=rating)).status_code == 404
    confirmed = await http.post(f"{path}/confirm", headers=reporter, json=rating)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["timeline"][-1]["event_type"] == "CaseConfirmed"
    assert confirmed.json()["allowed_actions"] == []
    assert (await parts.repository.get(case_id)).case.satisfaction.rating == 5  # type: ignore[union-attr]
    closed = await http.post(f"{path}/close", headers={**handler, "If-Match": '"7"'})
    assert closed.json()["status"] == "closed"

    async def relayed_and_consumed_back() -> bool:
        types = [e.event_type for e in await topic_events(settings) if e.case_id == case_id]
        return types.count("CaseClosed") == 1

    await eventually(relayed_and_consumed_back)
    await eventually(lambda: consumed_everything(settings))  # our own events, taken back in
    record = await parts.repository.get(case_id)
    assert record is not None
    assert record.version == 8
    assert len({entry.event_id for entry in record.ledger}) == 8

    csv = await http.get(f"{path}/timeline.csv", headers=inspector)
    assert csv.text.splitlines()[0].startswith("sequence,event_id,event_type")
    assert len(csv.text.strip().splitlines()) == 9
    today = datetime.now(UTC).date()
    period = await http.get(
        "/v1/exports/cases.csv",
        headers=inspector,
        params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
    )
    assert case_id in period.text
    assert (await http.get("/v1/exports/cases.csv", headers=handler)).status_code == 403
    edges = (("to", "2026-01-01", "9999-12-31"), ("from", "0001-01-01", "0001-01-02"))
    for field, first, last in edges:
        edge = await http.get(
            "/v1/exports/cases.csv", headers=inspector, params={"from": first, "to": last}
        )
        assert (edge.status_code, edge.json()["field"]) == (422, field)


async def test_a_redelivered_event_changes_nothing(
    settings: RemediationSettings, service: tuple[httpx.AsyncClient, Components]
) -> None:
    _, parts = service
    case_id = new_case_id()
    events = [reported(case_id), assigned(case_id)]
    await publish(settings, events)

    async def recorded() -> bool:
        return await case_version(parts, case_id) == 2

    await eventually(recorded)
    before = await parts.repository.get(case_id)
    await publish(settings, events)
    marker = new_case_id()
    await publish(settings, [reported(marker)])

    async def marker_recorded() -> bool:
        return await case_version(parts, marker) == 1

    await eventually(marker_recorded)
    assert await parts.repository.get(case_id) == before


def not_visible(route: str) -> float:
    labels = {"service": "remediation-tracking", "route": route, "reason": "not_visible"}
    return REGISTRY.get_sample_value("gridcase_authorization_failures_total", labels) or 0.0


async def test_a_handler_of_another_department_gets_404(
    settings: RemediationSettings,
    service: tuple[httpx.AsyncClient, Components],
    handler: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    http, parts = service
    case_id = await an_assigned_case(settings, parts)
    fire = bearer(settings, "h-9", Role.HANDLER, "fire-rescue")
    refused_before = not_visible("/v1/cases/{case_id}")
    with caplog.at_level(logging.INFO, logger="gridcase.access"):
        assert (await http.get(f"/v1/cases/{case_id}", headers=fire)).status_code == 404
        assert (await http.get(f"/v1/cases/{case_id}", headers=handler)).status_code == 200
    trail = [record.access for record in caplog.records if hasattr(record, "access")]  # type: ignore[attr-defined]
    assert [(a["action"], a["subject"], a["case_id"]) for a in trail] == [
        ("case.read", "h-1", case_id)
    ]
    assert not_visible("/v1/cases/{case_id}") == refused_before + 1
    accept = await http.post(f"/v1/cases/{case_id}/accept", headers={**fire, "If-Match": '"2"'})
    assert accept.status_code == 404
    assert not_visible("/v1/cases/{case_id}/accept") >= 1
    listed = await http.get("/v1/cases", headers=fire)
    assert case_id not in [item["case_id"] for item in listed.json()["items"]]
    assert await case_version(parts, case_id) == 2


async def test_a_co_handling_department_reads_but_only_the_lead_acts(
    settings: RemediationSettings,
    service: tuple[httpx.AsyncClient, Components],
    handler: dict[str, str],
) -> None:
    http, parts = service
    case_id = new_case_id()
    co_assigned = assigned(case_id, co_departments=("fire-rescue",))
    await publish(settings, [reported(case_id), co_assigned])

    async def assigned_here() -> bool:
        return await case_version(parts, case_id) == 2

    await eventually(assigned_here)
    fire = bearer(settings, "h-9", Role.HANDLER, "fire-rescue")
    read = await http.get(f"/v1/cases/{case_id}", headers=fire)
    assert (read.status_code, read.json()["allowed_actions"]) == (200, [])
    path = f"/v1/cases/{case_id}"
    for action, body in (("accept", {}), ("return", {"reason": "not ours"})):
        refused = await http.post(
            f"{path}/{action}", headers={**fire, "If-Match": '"2"'}, json=body
        )
        assert refused.status_code == 403, refused.text
    photo = png()
    progress = await http.post(
        f"{path}/progress",
        headers={**fire, "If-Match": '"2"'},
        data={"note": "props set"},
        files=[("photos", ("p.png", photo, "image/png"))],
    )
    assert progress.status_code == 403
    assert await case_version(parts, case_id) == 2
    photo_id = f"{case_id}-{check_photo(photo).sha256[:32]}"
    assert await parts.photos.load(photo_id) is None
    lead = await http.post(f"{path}/accept", headers={**handler, "If-Match": '"2"'})
    assert lead.status_code == 200


async def test_the_reporter_gets_the_public_view_and_no_audit_trail(
    settings: RemediationSettings, service: tuple[httpx.AsyncClient, Components]
) -> None:
    http, parts = service
    case_id = await an_assigned_case(settings, parts)
    reporter = bearer(settings, "volunteer-1", Role.VOLUNTEER)
    read = await http.get(f"/v1/cases/{case_id}", headers=reporter)
    assert (read.status_code, read.headers["etag"]) == (200, '"2"')
    body = read.json()
    assert "handler" not in body
    assert "co_departments" not in body
    assert (body["status"], body["department"], body["allowed_actions"]) == (
        "assigned",
        "housing-bureau",
        [],
    )
    assert body["timeline"] == [
        {
            "event_type": t,
            "occurred_at": body["timeline"][i]["occurred_at"],
            "note": None,
            "photos": [],
        }
        for i, t in enumerate(["CaseReported", "CaseAssigned"])
    ]
    listed = await http.get("/v1/cases", headers=reporter)
    mine = [item for item in listed.json()["items"] if item["case_id"] == case_id]
    assert len(mine) == 1
    assert "handler" not in mine[0]
    for audit in ("timeline", "timeline.csv"):
        assert (await http.get(f"/v1/cases/{case_id}/{audit}", headers=reporter)).status_code == 403


async def test_the_case_list_filters_and_pages(
    settings: RemediationSettings,
    service: tuple[httpx.AsyncClient, Components],
    handler: dict[str, str],
) -> None:
    http, parts = service
    mine = {await an_assigned_case(settings, parts) for _ in range(3)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"status": "assigned", "assigned_to_me": "true", "limit": "2"}
        page = (
            await http.get("/v1/cases", headers=handler, params={**params, "cursor": cursor})
            if cursor
            else await http.get("/v1/cases", headers=handler, params=params)
        ).json()
        seen += [item["case_id"] for item in page["items"]]
        assert all(item["status"] == "assigned" for item in page["items"])
        if not (cursor := page["next_cursor"]):
            break
    assert mine <= set(seen)
    assert len(seen) == len(set(seen))


async def test_replaying_the_topic_into_an_empty_database_gives_identical_state(
    settings: RemediationSettings,
    service: tuple[httpx.AsyncClient, Components],
    service_env: dict[str, str],
    namespace: str,
) -> None:
    _, live = service
    events = await topic_events(settings)
    case_ids = {event.case_id for event in events}

    async def settled() -> bool:
        pending = await live.repository.cases.count_documents({"outbox_pending": True})
        total = sum([await case_version(live, c) for c in case_ids])
        return pending == 0 and total == len({e.event_id for e in events})

    await eventually(settled)
    replay_settings = settings_for(service_env, namespace, suffix="_replay")
    async with running_service(replay_settings, workers=("consumer",)) as (_, replayed):

        async def caught_up() -> bool:
            versions = [await case_version(replayed, c) for c in case_ids]
            return versions == [await case_version(live, c) for c in case_ids]

        await eventually(caught_up)
        assert await history_hash(replayed) == await history_hash(live)
        await replayed.database.client.drop_database(replay_settings.mongodb_database)


async def test_operations_endpoints_and_projection_rebuild(
    settings: RemediationSettings, service: tuple[httpx.AsyncClient, Components]
) -> None:
    http, parts = service
    assert (await http.get("/readyz")).json()["ready"] is True
    openapi = (await http.get("/openapi.json")).json()
    resolve_body = openapi["paths"]["/v1/cases/{case_id}/resolve"]["post"]["requestBody"]
    assert set(resolve_body["content"]) == {"application/json", "multipart/form-data"}
    case_id = await an_assigned_case(settings, parts)
    await parts.repository.cases.update_one({"_id": case_id}, {"$set": {"state.status": "closed"}})
    admin = bearer(settings, "a-1", Role.ADMIN)
    repaired = await http.post(
        "/v1/admin/rebuild-projections", headers=admin, params={"case_id": case_id}
    )
    assert repaired.json() == {"checked": 1, "repaired": 1}
    record = await parts.repository.get(case_id)
    assert record is not None
    assert record.case.status == "assigned"
    await parts.sla_timer.flag_overdue_stages()
    exposition = (await http.get("/metrics")).text
    for name in (
        'gridcase_cases{status="assigned"}',
        'gridcase_transitions_total{action="accept"}',
        'gridcase_action_duration_seconds_count{action="accept"}',
        "gridcase_outbox_backlog",
    ):
        assert name in exposition
