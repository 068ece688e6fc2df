"""A load beyond what the process works on at once is shed with 503 and Retry-After, on
both doors, before it takes a rate-limit token; the reports in work are accepted."""

import asyncio

import httpx
import pytest

from gridcase_contracts.events import Envelope
from gridcase_intake.adapters.fakes import FakePublisher
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_runtime.auth import Role
from identity import mint_token

REPORT = {
    "category": "fire-safety",
    "severity": "high",
    "description": "Blocked fire exit in the market hall",
    "location": {"lat": 26.9, "lon": 112.6, "district": "D03"},
}


class HeldPublisher(FakePublisher):
    """Holds every publish until `release` is set: the reports stay in work."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.both_held = asyncio.Event()
        self.held = 0

    async def publish(self, event: Envelope, *, ingest_ts_ns: int | None = None) -> None:
        self.held += 1
        if self.held == 2:
            self.both_held.set()
        await self.release.wait()
        await super().publish(event, ingest_ts_ns=ingest_ts_ns)


@pytest.fixture
def settings() -> IntakeSettings:
    return IntakeSettings(
        environment="test",
        public_base_url="http://intake.test",
        max_reports_in_work=2,
        reports_per_minute=3,
    )


@pytest.fixture
def publisher(intake: Intake) -> HeldPublisher:
    intake.publisher = HeldPublisher()
    return intake.publisher


def bearer(settings: IntakeSettings, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject=subject, role=Role.VOLUNTEER)}"}


async def test_reports_beyond_those_in_work_are_shed_at_once(
    client: httpx.AsyncClient, settings: IntakeSettings, intake: Intake, publisher: HeldPublisher
) -> None:
    in_work = [
        asyncio.create_task(
            client.post("/v1/reports", json=REPORT, headers=bearer(settings, f"v-shed-{n}"))
        )
        for n in range(2)
    ]
    await asyncio.wait_for(publisher.both_held.wait(), timeout=10)

    shed = await client.post("/v1/reports", json=REPORT, headers=bearer(settings, "v-shed-0"))
    assert shed.status_code == 503
    assert shed.headers["Retry-After"] == str(settings.retry_after_s)
    assert "nothing was accepted" in shed.json()["detail"]

    key, _ = await intake.issue_api_key("city-app", by="a-1")
    form = {
        "service_code": "sanitation",
        "description": "Bins",
        "lat": "26.9",
        "long": "112.6",
        "api_key": key,
    }
    shed_open311 = await client.post("/open311/v2/requests.json", data=form)
    assert shed_open311.status_code == 503
    assert shed_open311.headers["Retry-After"] == str(settings.retry_after_s)
    assert "retry later" in shed_open311.json()[0]["description"]

    publisher.release.set()
    assert [response.status_code for response in await asyncio.gather(*in_work)] == [201, 201]
    assert len(publisher.published) == 2
    assert intake.in_work == 0
    # the shed report took no token: v-shed-0 still has two of its three this minute
    for _ in range(2):
        again = await client.post("/v1/reports", json=REPORT, headers=bearer(settings, "v-shed-0"))
        assert again.status_code == 201
    assert (
        await client.post("/v1/reports", json=REPORT, headers=bearer(settings, "v-shed-0"))
    ).status_code == 429
