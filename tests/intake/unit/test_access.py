"""Who may read what: native reports and photos by role, Open311's public reads, the
reporter namespaces and the rejection metric; the app runs on in-memory fakes."""

import io
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image
from prometheus_client import REGISTRY

from gridcase_contracts.codes import Channel
from gridcase_contracts.events import (
    Actor,
    CaseAssigned,
    CaseAssignedPayload,
    ProgressRecorded,
    ProgressRecordedPayload,
    Reporter,
    StageDue,
    new_event,
)
from gridcase_intake.adapters.fakes import (
    FakePublisher,
)
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain import open311
from gridcase_intake.domain.idempotency import StoredResponse
from gridcase_intake.domain.reports import ReportIn
from gridcase_intake.handlers import Submission, visible_to
from gridcase_runtime.auth import Principal, Role
from identity import mint_token

REPORT = {
    "category": "fire-safety",
    "severity": "high",
    "description": "Blocked fire exit in the market hall",
    "location": {"lat": 26.9, "lon": 112.6, "district": "D03"},
}


@pytest.fixture
def settings() -> IntakeSettings:
    return IntakeSettings(
        environment="test", public_base_url="http://intake.test", reports_per_minute=2
    )


def bearer(settings: IntakeSettings, subject: str, role: Role, **claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject=subject, role=role, **claims)}"}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def render(event: object) -> StoredResponse:
    return StoredResponse(201, "application/json", "{}")


async def report(
    intake: Intake, reporter: Reporter, channel: Channel, photos: list[bytes] | None = None
) -> str:
    await intake.submit(
        Submission(ReportIn.model_validate(REPORT), reporter, channel, photos=photos or []),
        render,
    )
    assert isinstance(intake.publisher, FakePublisher)
    return intake.publisher.published[-1].case_id


async def assign(intake: Intake, case_id: str, department: str) -> None:
    now = datetime.now(UTC)
    due = StageDue(
        accept=now + timedelta(hours=4),
        first_response=now + timedelta(days=1),
        resolve=now + timedelta(days=7),
        verify=now + timedelta(days=9),
    )
    await intake.cases.apply(
        new_event(
            CaseAssigned,
            case_id=case_id,
            occurred_at=now,
            payload=CaseAssignedPayload(department=department, due=due),
        )
    )


async def test_a_photo_is_served_to_whoever_may_see_its_report(
    client: httpx.AsyncClient, settings: IntakeSettings, intake: Intake
) -> None:
    case_id = await report(intake, Reporter(reporter_id="v-1"), Channel.APP, [png()])
    await assign(intake, case_id, "fire-rescue")
    url = f"/v1/photos/{case_id}-p1"
    allowed = [
        bearer(settings, "v-1", Role.VOLUNTEER),
        bearer(settings, "h-1", Role.HANDLER, department="fire-rescue"),
        bearer(settings, "s-1", Role.SUPERVISOR),
        bearer(settings, "a-1", Role.ADMIN),
    ]
    for headers in allowed:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, headers
        assert response.headers["content-type"] == "image/png"
    refused = [
        bearer(settings, "v-2", Role.VOLUNTEER),
        bearer(settings, "h-2", Role.HANDLER, department="housing-bureau"),
    ]
    for headers in refused:
        assert (await client.get(url, headers=headers)).status_code == 404
    supervisor = bearer(settings, "s-1", Role.SUPERVISOR)
    assert (await client.get(f"/v1/photos/{case_id}-p2", headers=supervisor)).status_code == 404
    assert (await client.get("/v1/photos/not-a-photo", headers=supervisor)).status_code == 404


async def test_an_open311_client_name_is_not_a_volunteer_id(
    client: httpx.AsyncClient, settings: IntakeSettings, intake: Intake
) -> None:
    case_id = await report(intake, open311.client_reporter("city-app"), Channel.OPEN311)
    for subject in ("city-app", "open311:city-app"):
        headers = bearer(settings, subject, Role.VOLUNTEER)
        assert (await client.get(f"/v1/reports/{case_id}", headers=headers)).status_code == 404
        listed = await client.get("/v1/reports", headers=headers)
        assert listed.json()["total"] == 0
    case = await intake.cases.get(case_id)
    assert case is not None
    assert case["reporter_id"] == "open311:city-app"
    own = Principal(subject="open311:city-app", role=Role.VOLUNTEER)
    assert visible_to({**case, "reporter_kind": "volunteer"}, own) is not None
    assert visible_to(case, own) is None


async def test_open311_reads_show_only_open311_requests_and_notes_only_to_the_filer(
    client: httpx.AsyncClient, settings: IntakeSettings, intake: Intake
) -> None:
    native = await report(intake, Reporter(reporter_id="v-1"), Channel.APP)
    filed = await report(intake, open311.client_reporter("city-app"), Channel.OPEN311)
    await intake.cases.apply(
        new_event(
            ProgressRecorded,
            case_id=filed,
            occurred_at=datetime.now(UTC),
            payload=ProgressRecordedPayload(
                note="Exit cleared", by=Actor(actor_id="h-1", role="handler")
            ),
        )
    )
    listed = await client.get("/open311/v2/requests.json")
    assert [r["service_request_id"] for r in listed.json()] == [filed]
    by_id = await client.get(f"/open311/v2/requests.json?service_request_id={native},{filed}")
    assert [r["service_request_id"] for r in by_id.json()] == [filed]
    assert (await client.get(f"/open311/v2/requests/{native}.json")).status_code == 404
    native_token = (await intake.cases.get(native) or {})["token"]
    assert (await client.get(f"/open311/v2/tokens/{native_token}.json")).status_code == 404

    def notes(response: httpx.Response) -> list[str] | None:
        [view] = response.json()
        found = view["extended_attributes"].get("notes")
        return None if found is None else [note["note"] for note in found]

    path = f"/open311/v2/requests/{filed}.json?extensions=true"
    assert notes(await client.get(path)) is None
    other_key, _ = await intake.issue_api_key("other-app", by="a-1")
    assert notes(await client.get(f"{path}&api_key={other_key}")) is None
    filer_key, _ = await intake.issue_api_key("city-app", by="a-1")
    assert notes(await client.get(f"{path}&api_key={filer_key}")) == ["Exit cleared"]
    listed_by_filer = await client.get(
        f"/open311/v2/requests.json?extensions=true&api_key={filer_key}"
    )
    assert notes(listed_by_filer) == ["Exit cleared"]
    forged = await client.get(f"{path}&api_key=gck_city-app_1.forged")
    assert forged.status_code == 403


def rejected(category: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "gridcase_reports_rejected_total", {"category": category, "reason": reason}
    )
    return value or 0.0


async def test_rejections_are_counted_by_category_and_reason(
    client: httpx.AsyncClient, settings: IntakeSettings, intake: Intake
) -> None:
    headers = bearer(settings, "v-1", Role.VOLUNTEER)
    before_known = rejected("fire-safety", "validation")
    before_unknown = rejected("unknown", "validation")
    no_description = {**REPORT, "description": ""}
    assert (
        await client.post("/v1/reports", json=no_description, headers=headers)
    ).status_code == 422
    bad_category = {**REPORT, "category": "graffiti"}
    assert (await client.post("/v1/reports", json=bad_category, headers=headers)).status_code == 422
    assert rejected("fire-safety", "validation") == before_known + 1
    assert rejected("unknown", "validation") == before_unknown + 1

    before_open311 = rejected("sanitation", "validation")
    form = {"service_code": "sanitation", "description": "Bins", "address_string": "1 Main St"}
    key, _ = await intake.issue_api_key("city-app", by="a-1")
    missing_district = await client.post("/open311/v2/requests.json", data={**form, "api_key": key})
    assert missing_district.status_code == 400
    assert "needs its district" in missing_district.json()[0]["description"]
    assert rejected("sanitation", "validation") == before_open311 + 1


async def test_a_retry_is_replayed_over_the_rate_limit_and_new_reports_are_refused(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    headers = bearer(settings, "v-busy", Role.VOLUNTEER)
    before = rejected("fire-safety", "rate_limited")
    for n in range(2):
        first = await client.post(
            "/v1/reports", json=REPORT, headers={**headers, "Idempotency-Key": f"k-{n}"}
        )
        assert first.status_code == 201
    retry = await client.post(
        "/v1/reports", json=REPORT, headers={**headers, "Idempotency-Key": "k-0"}
    )
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    new = await client.post(
        "/v1/reports", json=REPORT, headers={**headers, "Idempotency-Key": "k-2"}
    )
    assert new.status_code == 429
    assert int(new.headers["Retry-After"]) >= 1
    assert rejected("fire-safety", "rate_limited") == before + 1


async def test_the_team_comes_from_the_token_only(
    client: httpx.AsyncClient, settings: IntakeSettings, intake: Intake
) -> None:
    headers = bearer(settings, "v-team", Role.VOLUNTEER, team="team-03")
    claimed = await client.post("/v1/reports", json={**REPORT, "team": "team-09"}, headers=headers)
    assert claimed.status_code == 422
    assert claimed.json()["errors"][0]["loc"] == ["body", "team"]
    accepted = await client.post("/v1/reports", json=REPORT, headers=headers)
    assert accepted.status_code == 201
    assert isinstance(intake.publisher, FakePublisher)
    assert intake.publisher.published[-1].payload.team == "team-03"


def refusals(route: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "gridcase_authorization_failures_total",
        {"service": "intake", "route": route, "reason": reason},
    )
    return value or 0.0


async def test_reads_of_personal_data_are_logged_with_the_subject_and_refusals_counted(
    client: httpx.AsyncClient,
    settings: IntakeSettings,
    intake: Intake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    case_id = await report(intake, Reporter(reporter_id="v-own"), Channel.APP, [png()])
    route = "/v1/reports/{case_id}"
    before = {
        reason: refusals(route, reason)
        for reason in ("not_visible", "missing_credentials", "invalid_credentials", "forbidden")
    }
    with caplog.at_level(logging.INFO, logger="gridcase.access"):
        own = bearer(settings, "v-own", Role.VOLUNTEER)
        assert (await client.get(f"/v1/reports/{case_id}", headers=own)).status_code == 200
        assert (await client.get(f"/v1/photos/{case_id}-p1", headers=own)).status_code == 200
        assert (await client.get("/v1/reports", headers=own)).status_code == 200
        other = bearer(settings, "v-other", Role.VOLUNTEER)
        assert (await client.get(f"/v1/reports/{case_id}", headers=other)).status_code == 404
    trail = [record.access for record in caplog.records if hasattr(record, "access")]  # type: ignore[attr-defined]
    assert [(a["action"], a["subject"], a.get("case_id")) for a in trail] == [
        ("case.read", "v-own", case_id),
        ("photo.download", "v-own", case_id),
        ("cases.list", "v-own", None),
    ]
    assert trail[0]["route"] == route
    assert trail[1]["resource"] == f"{case_id}-p1"
    assert refusals(route, "not_visible") == before["not_visible"] + 1

    assert (await client.get(f"/v1/reports/{case_id}")).status_code == 401
    garbled = {"Authorization": "Bearer not-a-token"}
    assert (await client.get(f"/v1/reports/{case_id}", headers=garbled)).status_code == 401
    handler = bearer(settings, "h-1", Role.HANDLER, department="fire-rescue")
    assert (await client.get("/v1/reports", headers=handler)).status_code == 403
    assert refusals(route, "missing_credentials") == before["missing_credentials"] + 1
    assert refusals(route, "invalid_credentials") == before["invalid_credentials"] + 1
    assert refusals("/v1/reports", "forbidden") >= 1


async def test_errors_around_open311_routes_keep_the_specification_format(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    """A 405 raised by routing, before any Open311 code runs, is still Open311's error
    document, in XML when the path asks for XML; native routes answer problems."""
    xml = await client.put("/open311/v2/services.xml")
    assert xml.status_code == 405
    assert xml.headers["content-type"].startswith("text/xml")
    assert b"<errors><error><code>405</code>" in xml.content
    as_json = await client.put("/open311/v2/services.json")
    assert as_json.json() == [{"code": 405, "description": "Method Not Allowed"}]
    native = await client.get(
        "/v1/reports/GC-20260101-AAAAAAAA",
        headers=bearer(settings, "v-1", Role.VOLUNTEER, team="team-01"),
    )
    assert native.status_code == 404
    assert native.headers["content-type"] == "application/problem+json"
    assert native.json()["title"] == "Not Found"
