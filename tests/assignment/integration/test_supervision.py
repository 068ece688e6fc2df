"""Returns, the supervisor queue and API, and splits of wrong merges."""

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from factories import case_reported
from gridcase_assignment.config import AssignmentSettings
from gridcase_contracts.codes import Category, District
from gridcase_contracts.events import (
    Actor,
    CaseAccepted,
    CaseAcceptedPayload,
    CaseResolved,
    CaseResolvedPayload,
    CaseReturned,
    CaseReturnedPayload,
    new_event,
)
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase

from .conftest import TopicReader, bearer, caught_up

pytestmark = pytest.mark.integration


def returned_by(case_id: str, department: str) -> CaseReturned:
    return new_event(
        CaseReturned,
        case_id=case_id,
        occurred_at=datetime.now(UTC),
        payload=CaseReturnedPayload(
            department=department,
            reason="not ours: the wall belongs to a state-owned building",
            by=Actor(actor_id="h-1", role="handler", department=department),
        ),
    )


async def test_returns_reroute_then_reach_the_supervisor_queue(
    service: FastAPI,
    settings: AssignmentSettings,
    http: httpx.AsyncClient,
    publisher: EventPublisher,
    reader: TopicReader,
) -> None:
    report = case_reported(category=Category.PUBLIC_SECURITY, district=District.D07, lat=25.1)
    await publisher.publish(report)
    await reader.wait_for(lambda e: e.case_id == report.case_id and e.event_type == "CaseAssigned")

    await publisher.publish(returned_by(report.case_id, "public-security-bureau"))
    [_, rerouted] = await reader.wait_for(
        lambda e: e.case_id == report.case_id and e.event_type == "CaseAssigned", count=2
    )
    assert (rerouted.payload.department, rerouted.payload.reason, rerouted.payload.returns) == (
        "district-d07",
        "return-reroute",
        1,
    )
    assert rerouted.payload.handler == "h-d07-1"

    await publisher.publish(returned_by(report.case_id, "district-d07"))
    [queued] = await reader.wait_for(
        lambda e: e.case_id == report.case_id and e.event_type == "CaseReassigned"
    )
    assert queued.payload.supervisor_queue
    assert (queued.payload.from_department, queued.payload.department) == (
        "district-d07",
        "supervision-office",
    )
    supervisor = bearer(settings, Role.SUPERVISOR, "s-1")
    queue = (await http.get("/supervisor/queue", headers=supervisor)).json()
    assert report.case_id in [case["case_id"] for case in queue]

    handler = bearer(settings, Role.HANDLER, "h-police-1", "public-security-bureau")
    body = {"department": "traffic-police", "reason": "a traffic matter after all"}
    url = f"/supervisor/cases/{report.case_id}/reassign"
    assert (await http.post(url, json=body, headers=handler)).status_code == 403
    wrong = {**body, "handler": "h-housing-1"}
    assert (await http.post(url, json=wrong, headers=supervisor)).status_code == 422
    response = await http.post(url, json=body, headers=supervisor)
    assert response.status_code == 200
    assert response.json()["case"]["handler"] == "h-traffic-1"
    [_, moved] = await reader.wait_for(
        lambda e: e.case_id == report.case_id and e.event_type == "CaseReassigned", count=2
    )
    assert (moved.payload.department, moved.payload.supervisor_queue) == ("traffic-police", False)
    assert moved.payload.by.actor_id == "s-1"
    assert moved.payload.due is not None
    queue = (await http.get("/supervisor/queue", headers=supervisor)).json()
    assert report.case_id not in [case["case_id"] for case in queue]


async def test_a_supervisor_splits_a_wrong_merge(
    service: FastAPI,
    settings: AssignmentSettings,
    http: httpx.AsyncClient,
    publisher: EventPublisher,
    reader: TopicReader,
) -> None:
    first = case_reported(category=Category.SANITATION, lat=25.3, lon=113.0)
    second = case_reported(category=Category.SANITATION, lat=25.3002, lon=113.0)  # ~22 m
    await publisher.publish(first)
    await reader.wait_for(lambda e: e.case_id == first.case_id and e.event_type == "CaseAssigned")
    await publisher.publish(second)
    await reader.wait_for(
        lambda e: e.case_id == second.case_id and e.event_type == "CaseMarkedDuplicate"
    )
    url = f"/supervisor/cases/{second.case_id}/split"
    response = await http.post(
        url, json={"reason": "two different bins"}, headers=bearer(settings, Role.SUPERVISOR, "s-2")
    )
    assert response.status_code == 200
    assert response.json()["events"] == ["CaseSplit", "CaseAssigned"]
    [split, assigned] = await reader.wait_for(
        lambda e: e.case_id == second.case_id and e.event_type in ("CaseSplit", "CaseAssigned"),
        count=2,
    )
    assert split.payload.primary_case_id == first.case_id
    assert (assigned.payload.reason, assigned.payload.department) == (
        "split",
        "sanitation-division",
    )
    again = await http.post(
        url, json={"reason": "twice"}, headers=bearer(settings, Role.SUPERVISOR, "s-2")
    )
    assert again.status_code == 409


async def test_a_resolved_case_cannot_be_reassigned(
    service: FastAPI,
    settings: AssignmentSettings,
    http: httpx.AsyncClient,
    publisher: EventPublisher,
    reader: TopicReader,
    database: MongoDatabase,
) -> None:
    report = case_reported(category=Category.FIRE_SAFETY, district=District.D02, lat=25.7)
    await publisher.publish(report)
    [assigned] = await reader.wait_for(
        lambda e: e.case_id == report.case_id and e.event_type == "CaseAssigned"
    )
    handler = Actor(actor_id=assigned.payload.handler, role="handler", department="fire-rescue")
    now = datetime.now(UTC)
    for event in (
        new_event(
            CaseAccepted,
            case_id=report.case_id,
            occurred_at=now,
            payload=CaseAcceptedPayload(by=handler),
        ),
        new_event(
            CaseResolved,
            case_id=report.case_id,
            occurred_at=now,
            payload=CaseResolvedPayload(note="extinguishers replaced", by=handler),
        ),
    ):
        await publisher.publish(event)
    await caught_up(settings, database)

    response = await http.post(
        f"/supervisor/cases/{report.case_id}/reassign",
        json={"department": "housing-bureau", "reason": "the building is the problem"},
        headers=bearer(settings, Role.SUPERVISOR, "s-3"),
    )
    assert response.status_code == 409
    assert response.json()["case_status"] == "resolved"
    assert await reader.of_case(report.case_id, "CaseReassigned") == []
