"""Steps of a case's journey over HTTP, shared by the end-to-end tests."""

import asyncio
import io
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from PIL import Image

from places import point_in

T = TypeVar("T")

URLS = {
    "intake": f"http://127.0.0.1:{os.environ.get('INTAKE_PORT', '8001')}",
    "assignment": f"http://127.0.0.1:{os.environ.get('ASSIGNMENT_PORT', '8002')}",
    "remediation": f"http://127.0.0.1:{os.environ.get('REMEDIATION_PORT', '8003')}",
    "statistics": f"http://127.0.0.1:{os.environ.get('STATISTICS_PORT', '8004')}",
    "prometheus": f"http://127.0.0.1:{os.environ.get('PROMETHEUS_PORT', '9090')}",
}


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout_s: float = 45,
    what: str = "condition",
    observe: Callable[[], Awaitable[object]] | None = None,
) -> T:
    """Polls `probe` until it returns something other than None (or False); on timeout,
    the error shows what `observe` returns, to tell what the system did instead."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            seen = f"; last seen: {await observe()}" if observe else ""
            raise AssertionError(f"timed out waiting for {what}{seen}")
        await asyncio.sleep(0.25)


def photo() -> tuple[str, bytes, str]:
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 160, 40)).save(output, "JPEG")
    return ("after.jpg", output.getvalue(), "image/jpeg")


async def case(http: httpx.AsyncClient, case_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await http.get(f"{URLS['remediation']}/v1/cases/{case_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def case_in(
    http: httpx.AsyncClient, case_id: str, headers: dict[str, str], *statuses: str
) -> dict[str, Any]:
    """The case, once remediation-tracking shows it in one of `statuses`."""

    async def probe() -> dict[str, Any] | None:
        response = await http.get(f"{URLS['remediation']}/v1/cases/{case_id}", headers=headers)
        if response.status_code == 200 and response.json()["status"] in statuses:
            return dict(response.json())
        return None

    return await eventually(probe, what=f"{case_id} to be {'/'.join(statuses)}")


async def act(
    http: httpx.AsyncClient,
    case_id: str,
    action: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
    *,
    photos: int = 0,
) -> dict[str, Any]:
    """Performs an action with the current ETag; JSON, or multipart when sending photos."""
    current = await http.get(f"{URLS['remediation']}/v1/cases/{case_id}", headers=headers)
    url = f"{URLS['remediation']}/v1/cases/{case_id}/{action}"
    guarded = {**headers, "If-Match": current.headers["etag"]}
    if photos:
        files = [("photos", photo()) for _ in range(photos)]
        response = await http.post(url, headers=guarded, data=body or {}, files=files)
    else:
        response = await http.post(url, headers=guarded, json=body or {})
    assert response.status_code == 200, f"{action}: {response.status_code} {response.text}"
    return dict(response.json())


async def reporter_sees(
    http: httpx.AsyncClient, case_id: str, volunteer: dict[str, str], status: str
) -> dict[str, Any]:
    """The reporter's own view on intake, once it shows `status`."""

    async def probe() -> dict[str, Any] | None:
        response = await http.get(f"{URLS['intake']}/v1/reports/{case_id}", headers=volunteer)
        if response.status_code == 200 and response.json()["status"] == status:
            return dict(response.json())
        return None

    return await eventually(probe, what=f"the reporter to see {case_id} {status}")


def report(
    category: str,
    district: str,
    *,
    severity: str = "high",
    spot: int = 0,
    shift_m: float = 0,
    description: str | None = None,
) -> dict[str, Any]:
    """A report at a point inside `district` (a different community for each `spot`),
    moved `shift_m` metres north."""
    lat, lon = point_in(district, spot)
    lat += shift_m / 111_320
    return {
        "category": category,
        "severity": severity,
        "description": description or f"{category} hazard found during the street survey",
        "location": {
            "lat": lat,
            "lon": lon,
            "address": "12 Riverside Road",
            "district": district,
            "community": "Riverside",
        },
    }


async def submit(http: httpx.AsyncClient, volunteer: dict[str, str], body: dict[str, Any]) -> str:
    response = await http.post(f"{URLS['intake']}/v1/reports", headers=volunteer, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "reported"
    return str(response.json()["case_id"])
