"""Native reports against the real broker and Mongo-wire server: the event on the topic,
retries that make one case, the read model, photos and the body limit."""

import asyncio
import io
import json
import uuid

import httpx
import pytest
from intake.integration.support import bearer, eventually, report_body, topic_events
from PIL import Image

from factories import case_assigned
from gridcase_contracts.codes import CaseStatus
from gridcase_contracts.events import (
    CaseReported,
)
from gridcase_contracts.topics import Headers
from gridcase_intake.config import IntakeSettings
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_producer import EventPublisher
from places import point_in
from producers import AsProducers

pytestmark = pytest.mark.integration


async def test_a_report_lands_on_the_topic_with_a_valid_envelope(
    client: httpx.AsyncClient, settings: IntakeSettings, kafka_bootstrap: str
) -> None:
    response = await client.post(
        "/v1/reports",
        json=report_body(),
        headers={**bearer(settings, "v-land", team="team-07"), "X-Correlation-ID": "corr-land"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "reported"
    assert response.headers["location"] == f"/v1/reports/{body['case_id']}"

    found = await asyncio.to_thread(
        topic_events,
        kafka_bootstrap,
        settings.case_events_topic.name,
        lambda events: any(e.case_id == body["case_id"] for e in events),
    )
    [(event, headers)] = [(e, h) for e, h in found if e.case_id == body["case_id"]]
    assert isinstance(event, CaseReported)
    assert event.producer.value == "intake"
    assert event.correlation_id == "corr-land"
    assert event.payload.reporter.reporter_id == "v-land"
    assert event.payload.team == "team-07"
    assert event.payload.location.district.value == "D03"
    assert headers[Headers.EVENT_TYPE] == b"CaseReported"
    assert int(headers[Headers.INGEST_TS]) > 0

    own = await client.get(f"/v1/reports/{body['case_id']}", headers=bearer(settings, "v-land"))
    assert own.status_code == 200
    assert own.json()["status"] == "reported"
    assert [entry["status"] for entry in own.json()["timeline"]] == ["reported"]
    other = await client.get(f"/v1/reports/{body['case_id']}", headers=bearer(settings, "v-other"))
    assert other.status_code == 404
    listed = await client.get("/v1/reports?page_size=5", headers=bearer(settings, "v-land"))
    assert [item["case_id"] for item in listed.json()["items"]] == [body["case_id"]]
    assert listed.json()["total"] == 1
    far = await client.get(
        "/v1/reports?page=1000000000000000000", headers=bearer(settings, "v-land")
    )
    assert (far.status_code, far.json()["field"]) == (422, "page")
    last = await client.get("/v1/reports?page=1000000", headers=bearer(settings, "v-land"))
    assert (last.json()["items"], last.json()["total"]) == ([], 1)


async def test_a_retried_submission_yields_one_case(
    client: httpx.AsyncClient, settings: IntakeSettings, kafka_bootstrap: str
) -> None:
    marker = f"Blocked fire exit {uuid.uuid4().hex}"
    key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
    auth = bearer(settings, "v-retry")
    first = await client.post(
        "/v1/reports", json=report_body(description=marker), headers={**auth, **key}
    )
    again = await client.post(
        "/v1/reports", json=report_body(description=marker), headers={**auth, **key}
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"

    changed = await client.post(
        "/v1/reports", json=report_body(description=marker + "!"), headers={**auth, **key}
    )
    assert changed.status_code == 422
    [mismatch] = changed.json()["errors"]
    assert (mismatch["loc"], mismatch["type"]) == (["header", "Idempotency-Key"], "reused")
    elsewhere = await client.post(
        "/v1/reports",
        json=report_body(description=marker),
        headers={**bearer(settings, "v-b"), **key},
    )
    assert elsewhere.status_code == 201, "keys are scoped per caller"
    assert elsewhere.json()["case_id"] != first.json()["case_id"]

    found = await asyncio.to_thread(
        topic_events,
        kafka_bootstrap,
        settings.case_events_topic.name,
        lambda events: any(e.case_id == elsewhere.json()["case_id"] for e in events),
    )
    mine = [
        e
        for e, _ in found
        if isinstance(e, CaseReported) and e.payload.reporter.reporter_id == "v-retry"
    ]
    assert [e.case_id for e in mine] == [first.json()["case_id"]]


async def test_the_read_model_follows_the_case_events(
    client: httpx.AsyncClient, settings: IntakeSettings, kafka_bootstrap: str
) -> None:
    auth = bearer(settings, "v-follow")
    case_id = (await client.post("/v1/reports", json=report_body(), headers=auth)).json()["case_id"]
    assigned = case_assigned(case_id)
    publisher = EventPublisher(
        kafka_bootstrap, settings.case_events_topic, service="test", signer=AsProducers()
    )
    try:
        await publisher.publish(assigned)
        await publisher.publish(assigned)  # a redelivery changes nothing
    finally:
        publisher.close()

    async def assigned_view() -> dict[str, object] | None:
        view = (await client.get(f"/v1/reports/{case_id}", headers=auth)).json()
        return view if view["status"] == CaseStatus.ASSIGNED else None

    view = await eventually(assigned_view)
    assert view["department"] == "housing-bureau"
    assert [entry["status"] for entry in view["timeline"]] == ["reported", "assigned"]
    handler = bearer(settings, "h-1", Role.HANDLER, department="housing-bureau")
    assert (await client.get(f"/v1/reports/{case_id}", headers=handler)).status_code == 200
    stranger = bearer(settings, "h-2", Role.HANDLER, department="fire-rescue")
    assert (await client.get(f"/v1/reports/{case_id}", headers=stranger)).status_code == 404


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (26.0, 53.0, 24.0), 3: "E", 4: (112.0, 34.0, 12.0)})
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif)
    return output.getvalue()


async def test_a_photo_round_trip_strips_exif_and_lends_its_gps(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()
    body = report_body(location={})
    response = await client.post(
        "/v1/reports",
        data={"report": json.dumps(body)},
        files=[("photos", ("wall.jpg", original, "image/jpeg"))],
        headers=bearer(settings, "v-photo"),
    )
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert accepted["location"]["lat"] == pytest.approx(26.89, abs=1e-4)
    assert accepted["location"]["lon"] == pytest.approx(112.57, abs=1e-4)
    assert accepted["district"]["code"] == "D03"
    [photo] = accepted["photos"]
    assert photo["url"].startswith("http://intake.test/v1/photos/")

    served = await client.get(photo["url"], headers=bearer(settings, "v-photo"))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    copy = Image.open(io.BytesIO(served.content))
    assert copy.size == (64, 48)
    assert not copy.getexif()
    assert (await client.get(photo["url"], headers=bearer(settings, "v-else"))).status_code == 404


async def test_bad_reports_get_specific_errors_and_big_bodies_413(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    auth = bearer(settings, "v-bad")
    unknown = await client.post("/v1/reports", json=report_body(category="potholes"), headers=auth)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "category"]
    not_a_photo = await client.post(
        "/v1/reports",
        data={"report": json.dumps(report_body())},
        files=[("photos", ("x.jpg", b"GIF89a not allowed", "image/jpeg"))],
        headers=auth,
    )
    assert not_a_photo.status_code == 422
    assert not_a_photo.json()["errors"][0]["loc"] == ["body", "photos", 0]
    huge = await client.post(
        "/v1/reports",
        content=b'{"description": "' + b"x" * (1024 * 1024) + b'"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    categories = await client.get("/v1/categories")
    assert {
        "code": "housing-safety",
        "name_zh": "自建房安全",
        "name_en": "Self-built housing safety",
    } in categories.json()
    assert (await client.get("/readyz")).json()["ready"] is True
    metrics = (await client.get("/metrics")).text
    assert 'gridcase_reports_accepted_total{category="housing-safety",channel="app"}' in metrics
    assert "gridcase_idempotent_replays_total" in metrics


async def test_a_report_by_its_point_alone_gets_district_and_community(
    client: httpx.AsyncClient, settings: IntakeSettings, kafka_bootstrap: str
) -> None:
    lat, lon = point_in("D05", 1)
    auth = bearer(settings, "v-point")
    response = await client.post(
        "/v1/reports", json=report_body(location={"lat": lat, "lon": lon}), headers=auth
    )
    assert response.status_code == 201, response.text
    accepted = response.json()
    assert accepted["location"]["district"] == "D05"
    assert accepted["location"]["community_code"] == "D05-C02"
    assert accepted["district"] == {"code": "D05", "name_zh": "北山县", "name_en": "Beishan County"}
    assert accepted["community"]["code"] == "D05-C02"

    found = await asyncio.to_thread(
        topic_events,
        kafka_bootstrap,
        settings.case_events_topic.name,
        lambda events: any(e.case_id == accepted["case_id"] for e in events),
    )
    [event] = [e for e, _ in found if e.case_id == accepted["case_id"]]
    assert isinstance(event, CaseReported)
    assert (event.payload.location.district.value, event.payload.location.community_code) == (
        "D05",
        "D05-C02",
    )
    view = (await client.get(f"/v1/reports/{accepted['case_id']}", headers=auth)).json()
    assert view["district"]["name_en"] == "Beishan County"
    assert view["community"]["name_zh"] == accepted["community"]["name_zh"]


async def test_a_district_that_contradicts_the_point_is_a_422_naming_both(
    client: httpx.AsyncClient, settings: IntakeSettings
) -> None:
    lat, lon = point_in("D05")
    body = report_body(location={"lat": lat, "lon": lon, "district": "D08"})
    response = await client.post("/v1/reports", json=body, headers=bearer(settings, "v-wrong"))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "location", "district"]
    assert "district D08 was given" in error["msg"]
    assert "lies in district D05" in error["msg"]
    outside = report_body(location={"lat": 30.0, "lon": 100.0})
    refused = await client.post("/v1/reports", json=outside, headers=bearer(settings, "v-wrong"))
    assert refused.status_code == 422
    assert "outside every district" in refused.json()["errors"][0]["msg"]


async def test_the_boundaries_are_served_for_the_maps(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/boundaries")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    document = response.json()
    assert document["properties"]["demo"] is True
    districts = [f for f in document["features"] if f["properties"]["level"] == "district"]
    assert len(districts) == 12
    again = await client.get("/v1/boundaries", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
