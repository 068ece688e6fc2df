"""Helpers of intake's integration tests."""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from kafka import KafkaConsumer

from gridcase_contracts.codec import decode
from gridcase_contracts.events import CaseEvent
from gridcase_intake.config import IntakeSettings
from gridcase_runtime.auth import Role
from identity import mint_token
from kafka_login import client_settings


def intake_settings(
    kafka_bootstrap: str, mongo_url: str, namespace: str, **overrides: Any
) -> IntakeSettings:
    return IntakeSettings(
        environment="test",
        kafka_bootstrap_servers=kafka_bootstrap,
        mongodb_url=mongo_url,
        topic_namespace=namespace,
        mongodb_database=namespace.replace("-", "_"),
        public_base_url="http://intake.test",
        **overrides,
    )


def bearer(
    settings: IntakeSettings, subject: str, role: Role = Role.VOLUNTEER, **claims: str
) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, subject=subject, role=role, **claims)}"}


async def issued_api_key(client: httpx.AsyncClient, settings: IntakeSettings, name: str) -> str:
    """A new Open311 api key, issued through the admin API."""
    answer = await client.post(
        "/v1/admin/api-keys", json={"name": name}, headers=bearer(settings, "a-1", Role.ADMIN)
    )
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["api_key"]
    return key


def report_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "housing-safety",
        "severity": "high",
        "description": "Cracked load-bearing wall in a self-built house",
        "location": {
            "lat": 26.89,
            "lon": 112.57,
            "address": "12 Riverside Rd",
            "district": "D03",
            "community": "Riverside",
        },
    }
    body.update(changes)
    return body


def topic_events(
    kafka_bootstrap: str,
    topic: str,
    until: Callable[[list[CaseEvent]], bool],
    timeout_s: float = 15,
) -> list[tuple[CaseEvent, dict[str, bytes]]]:
    """Reads the topic from the start until `until(events)` holds (or the time is up)."""
    reader = KafkaConsumer(
        topic,
        **client_settings(kafka_bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    found: list[tuple[CaseEvent, dict[str, bytes]]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not until([event for event, _ in found]):
            for record in reader:
                found.append((decode(record.value), dict(record.headers)))
    finally:
        reader.close()
    return found


async def eventually(check: Callable[[], Any], timeout_s: float = 15) -> Any:
    """Polls an async `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def start_of_a_window(needed_s: float = 10) -> None:
    """Waits for the next minute if less than `needed_s` are left of this one, so the
    requests a rate-limit test makes all fall into one window."""
    left = 60 - time.time() % 60
    if left < needed_s:
        await asyncio.sleep(left + 0.05)
