"""The chaos suite's workload and checker.

Volunteers file reports, each under its own Idempotency-Key, and retry every refusal,
error or timeout with the same key until it is accepted. The checker then reads the topic
and intake's read model on their own and counts, against what the clients were told:

- lost: acknowledged (201) but missing from the topic or the read model;
- duplicated: one key on the topic under two cases, or an event applied twice;
- unexpected: on the topic or in the read model but never acknowledged to anyone.
"""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from kafka import KafkaConsumer

from gridcase_contracts.codec import decode
from gridcase_contracts.events import CaseReported
from gridcase_intake.config import IntakeSettings
from gridcase_runtime.auth import Role
from identity import mint_token

REF = " (ref "


def report(key: str) -> dict[str, Any]:
    """A report whose description names its key, so that the checker can match the topic's
    events to what the clients were told."""
    return {
        "category": "housing-safety",
        "severity": "high",
        "description": f"Cracked load-bearing wall{REF}{key})",
        "location": {"lat": 26.89, "lon": 112.57, "address": "12 Riverside Rd", "district": "D03"},
    }


@dataclass
class Ledger:
    """What the clients sent and were told."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    """key → the case_id of its 201."""
    answers: Counter[str] = field(default_factory=Counter)
    accepted_at: list[float] = field(default_factory=list)

    @property
    def operations(self) -> int:
        return sum(self.answers.values())


async def volunteers(
    client: httpx.AsyncClient, tokens: list[str], ledger: Ledger, stop: asyncio.Event
) -> None:
    """Each volunteer files reports one after another until `stop`; a report is retried
    with its key until it is accepted, even after `stop`."""

    async def volunteer(token: str) -> None:
        while not stop.is_set():
            key = str(uuid.uuid4())
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
            while key not in ledger.acknowledged:
                try:
                    answer = await client.post("/v1/reports", json=report(key), headers=headers)
                except httpx.HTTPError as error:
                    ledger.answers[type(error).__name__] += 1
                    await asyncio.sleep(0.5)
                    continue
                ledger.answers[str(answer.status_code)] += 1
                if answer.status_code == 201:
                    ledger.acknowledged[key] = answer.json()["case_id"]
                    ledger.accepted_at.append(time.monotonic())
                else:
                    await asyncio.sleep(0.5)

    await asyncio.gather(*(volunteer(token) for token in tokens))


@dataclass(frozen=True)
class Verdict:
    operations: int
    acknowledged: int
    lost: int
    duplicated: int
    unexpected: int

    def row(self, scenario: str, recovered_s: float) -> str:
        return (
            f"| {scenario} | {self.operations} | {self.acknowledged} | {self.lost} | "
            f"{self.duplicated} | {self.unexpected} | {recovered_s:.1f} s |"
        )


def topic_reports(bootstrap: str, topic: str) -> list[CaseReported]:
    """Every CaseReported on the topic, read from the start to its end."""
    reader = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        events = [decode(record.value) for record in reader]
    finally:
        reader.close()
    return [event for event in events if isinstance(event, CaseReported)]


def judge(ledger: Ledger, reported: list[CaseReported], views: list[dict[str, Any]]) -> Verdict:
    """Counts lost, duplicated and unexpected reports (see the module's docstring)."""
    cases_of_key: dict[str, set[str]] = {}
    events_of_case: dict[str, set[str]] = {}
    for event in reported:
        description = event.payload.description
        key = description.rsplit(REF, 1)[1].rstrip(")") if REF in description else ""
        cases_of_key.setdefault(key, set()).add(event.case_id)
        events_of_case.setdefault(event.case_id, set()).add(str(event.event_id))
    viewed = {view["_id"]: view for view in views}
    lost = sum(
        case_id not in events_of_case or case_id not in viewed
        for case_id in ledger.acknowledged.values()
    )
    duplicated = sum(len(cases) - 1 for cases in cases_of_key.values())
    duplicated += sum(len(events) - 1 for events in events_of_case.values())
    duplicated += sum(
        len(view.get("event_ids", [])) - len(set(view.get("event_ids", []))) for view in views
    )
    acknowledged_cases = set(ledger.acknowledged.values())
    unexpected = sum(
        key not in ledger.acknowledged and bool(cases) for key, cases in cases_of_key.items()
    )
    unexpected += sum(case_id not in acknowledged_cases for case_id in viewed)
    return Verdict(ledger.operations, len(ledger.acknowledged), lost, duplicated, unexpected)


async def caught_up(read: Any, case_ids: set[str], timeout_s: float = 120) -> list[dict[str, Any]]:
    """The read model once it holds every acknowledged case (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        views: list[dict[str, Any]] = await read()
        if case_ids <= {view["_id"] for view in views} or time.monotonic() > deadline:
            return views
        await asyncio.sleep(1)


VOLUNTEERS = 8
LOAD_BEFORE_S = 10
LOAD_AFTER_S = 20
ANSWERS_EXPECTED = {"201", "409", "503"}
"""Accepted, the same key still in flight elsewhere, or try again later: never a 500."""


async def run_scenario(
    name: str,
    fault: Callable[[], Awaitable[None]],
    intake: tuple[httpx.AsyncClient, Any],
    settings: IntakeSettings,
    bootstrap: str,
) -> None:
    """Load, the fault under load, load again; then every report retried to acceptance, the
    read model caught up, and the checker's verdict."""
    client, database = intake
    tokens = [
        mint_token(settings, subject=f"v-chaos-{n}", role=Role.VOLUNTEER, ttl_s=3600)
        for n in range(VOLUNTEERS)
    ]
    ledger = Ledger()
    stop = asyncio.Event()
    load = asyncio.create_task(volunteers(client, tokens, ledger, stop))
    await asyncio.sleep(LOAD_BEFORE_S)
    await fault()
    fault_over = time.monotonic()
    await asyncio.sleep(LOAD_AFTER_S)
    stop.set()
    await load
    recovered_s = min(t for t in ledger.accepted_at if t > fault_over) - fault_over

    views = await caught_up(
        lambda: database["case_views"].find({}, {"event_ids": 1}).to_list(None),
        set(ledger.acknowledged.values()),
    )
    reported = await asyncio.to_thread(topic_reports, bootstrap, settings.case_events_topic.name)
    verdict = judge(ledger, reported, views)
    print(
        "\n| scenario | operations | acknowledged | lost | duplicated | unexpected | recovery |"
        f"\n{verdict.row(name, recovered_s)}\n answers: {dict(ledger.answers)}"
    )
    assert ledger.answers["503"] > 0, "the fault was not felt"
    assert set(ledger.answers) <= ANSWERS_EXPECTED, "an answer other than 201, 409 or 503"
    assert (verdict.lost, verdict.duplicated, verdict.unexpected) == (0, 0, 0)
