"""Open311 GeoReport v2 on the real servers: POST a request, then GET it in JSON and XML."""

from xml.etree import ElementTree

import httpx
import pytest
from intake.integration.support import bearer, report_body

from gridcase_intake.config import IntakeSettings
from places import point_in

pytestmark = pytest.mark.integration

IN_D07 = point_in("D07")
FORM = {
    "service_code": "sanitation",
    "lat": str(IN_D07[0]),
    "long": str(IN_D07[1]),
    "description": "Overflowing rubbish bins by the market",
    "attribute[district]": "D07",
    "attribute[severity]": "low",
    "media_url": "https://photos.example.org/bins.jpg",
}


async def test_post_then_get_in_json_and_xml(
    client: httpx.AsyncClient, settings: IntakeSettings, api_key: str
) -> None:
    created = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    assert created.status_code == 201, created.text
    [receipt] = created.json()
    request_id, token = receipt["service_request_id"], receipt["token"]

    as_json = await client.get(f"/open311/v2/requests/{request_id}.json")
    [request] = as_json.json()
    assert request["status"] == "open"
    assert request["service_code"] == "sanitation"
    assert (request["lat"], request["long"]) == IN_D07
    assert request["media_url"] == FORM["media_url"]
    assert request["requested_datetime"].endswith("+08:00")

    as_xml = await client.get(f"/open311/v2/requests/{request_id}.xml?extensions=true")
    assert as_xml.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(as_xml.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == request_id
    assert root.findtext("request/status") == "open"
    assert root.findtext("request/extended_attributes/detailed_status") == "reported"
    assert root.findtext("request/extended_attributes/district") == "D07"
    assert root.findtext("request/extended_attributes/district_name_zh") == "西湖县"

    listed = await client.get("/open311/v2/requests.json?service_code=sanitation&status=open")
    assert request_id in [r["service_request_id"] for r in listed.json()]
    closed = await client.get("/open311/v2/requests.json?status=closed")
    assert request_id not in [r["service_request_id"] for r in closed.json()]
    by_token = await client.get(f"/open311/v2/tokens/{token}.xml")
    assert (
        ElementTree.fromstring(by_token.content).findtext("request/service_request_id")
        == request_id
    )


async def test_services_and_errors_in_the_specification_shape(
    client: httpx.AsyncClient, api_key: str
) -> None:
    services = ElementTree.fromstring((await client.get("/open311/v2/services.xml")).content)
    assert "housing-safety" in [s.findtext("service_code") for s in services.findall("service")]
    definition = (await client.get("/open311/v2/services/housing-safety.json")).json()
    district = next(a for a in definition["attributes"] if a["code"] == "district")
    assert (district["datatype"], district["required"]) == ("singlevaluelist", False)

    forbidden = await client.post(
        "/open311/v2/requests.json", data={**FORM, "api_key": "gck_x_1.bad"}
    )
    assert forbidden.status_code == 403
    assert forbidden.json() == [{"code": 403, "description": "api_key is not valid"}]
    by_address = {k: v for k, v in FORM.items() if k not in ("lat", "long", "attribute[district]")}
    missing = await client.post(
        "/open311/v2/requests.xml",
        data={**by_address, "address_string": "3 Market St", "api_key": api_key},
    )
    assert missing.status_code == 400
    error = ElementTree.fromstring(missing.content)
    assert error.tag == "errors"
    assert error.findtext("error/code") == "400"
    assert "needs its district" in (error.findtext("error/description") or "")
    too_early = await client.get(
        "/open311/v2/requests.json", params={"start_date": "0001-01-01T00:00:00+14:00"}
    )
    assert too_early.json() == [
        {"code": 400, "description": "start_date is out of the calendar's range"}
    ]
    unknown = await client.get("/open311/v2/requests/GC-20240101-NOSUCHID.json")
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404


async def test_native_reports_stay_out_of_the_public_open311_reads(
    client: httpx.AsyncClient, settings: IntakeSettings, api_key: str
) -> None:
    native = await client.post(
        "/v1/reports", json=report_body(), headers=bearer(settings, "v-private")
    )
    assert native.status_code == 201, native.text
    native_id = native.json()["case_id"]
    filed = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": api_key})
    [receipt] = filed.json()

    listed = [
        r["service_request_id"] for r in (await client.get("/open311/v2/requests.json")).json()
    ]
    assert receipt["service_request_id"] in listed
    assert native_id not in listed
    by_id = await client.get(f"/open311/v2/requests.json?service_request_id={native_id}")
    assert by_id.json() == []
    assert (await client.get(f"/open311/v2/requests/{native_id}.json")).status_code == 404


async def test_a_request_with_only_the_point_is_placed_in_its_district(
    client: httpx.AsyncClient, api_key: str
) -> None:
    lat, lon = point_in("D05", 4)
    bare = {"service_code": "other", "lat": str(lat), "long": str(lon), "description": "A well"}
    created = await client.post("/open311/v2/requests.json", data={**bare, "api_key": api_key})
    assert created.status_code == 201, created.text
    [receipt] = created.json()
    request_id = receipt["service_request_id"]
    for fmt in ("json", "xml"):
        by_token = await client.get(f"/open311/v2/tokens/{receipt['token']}.{fmt}")
        assert by_token.status_code == 200
    [request] = (await client.get(f"/open311/v2/requests/{request_id}.json?extensions=1")).json()
    assert request["extended_attributes"]["district"] == "D05"
    assert request["extended_attributes"]["community_code"] == "D05-C05"
    root = ElementTree.fromstring(
        (await client.get(f"/open311/v2/requests/{request_id}.xml?extensions=1")).content
    )
    assert root.findtext("request/service_request_id") == request_id
    assert root.findtext("request/extended_attributes/district_name_en") == "Beishan County"

    elsewhere = await client.post(
        "/open311/v2/requests.json",
        data={**bare, "attribute[district]": "D09", "api_key": api_key},
    )
    assert elsewhere.status_code == 422
    assert "district D09 was given" in elsewhere.json()[0]["description"]
    outside = await client.post(
        "/open311/v2/requests.json",
        data={**bare, "lat": "30.0", "long": "100.0", "api_key": api_key},
    )
    assert outside.status_code == 422
    assert "outside every district" in outside.json()[0]["description"]
