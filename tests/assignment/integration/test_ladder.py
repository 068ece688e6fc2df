"""The escalation ladder: each level once per stage, across redelivery and a restart."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from factories import case_reported
from gridcase_assignment.config import AssignmentSettings
from gridcase_contracts.codes import Category, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import CaseOverdue, CaseOverduePayload, new_event
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.mongo import MongoDatabase

from .conftest import TopicReader, bearer, caught_up, running_service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(settings: AssignmentSettings) -> AssignmentSettings:
    """Level 2 late enough to fire after the restart below."""
    return settings.model_copy(update={"ladder_level2_delay_s": 3.0, "ladder_level3_delay_s": 4.0})


async def test_the_ladder_climbs_once_per_level_across_redelivery_and_restart(
    settings: AssignmentSettings,
    publisher: EventPublisher,
    reader: TopicReader,
    database: MongoDatabase,
) -> None:
    report = case_reported(category=Category.FIRE_SAFETY, lat=25.5, lon=113.2)
    overdue = new_event(
        CaseOverdue,
        case_id=report.case_id,
        occurred_at=datetime.now(UTC),
        payload=CaseOverduePayload(stage=Stage.ACCEPT, due_at=datetime.now(UTC) - timedelta(1)),
    )

    def escalated(event: Envelope) -> bool:
        return event.case_id == report.case_id and event.event_type == "CaseEscalated"

    async with running_service(settings):
        await publisher.publish(report)
        [assigned] = await reader.wait_for(
            lambda e: e.case_id == report.case_id and e.event_type == "CaseAssigned"
        )
        await publisher.publish(overdue)
        [first] = await reader.wait_for(escalated)
        await publisher.publish(overdue)  # redelivered while running
        await caught_up(settings, database)
    assert (first.payload.level, first.payload.target) == (1, "handler")
    assert first.payload.handler == assigned.payload.handler

    async with running_service(settings) as restarted:
        await reader.wait_for(escalated, count=3)
        await publisher.publish(overdue)  # redelivered after the restart
        await caught_up(settings, database)
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as client:
            listed = await client.get(
                "/supervisor/escalations", headers=bearer(settings, Role.SUPERVISOR, "s-1")
            )
    fired = await reader.of_case(report.case_id, "CaseEscalated")
    assert [(e.payload.level, e.payload.target, e.payload.handler) for e in fired] == [
        (1, "handler", assigned.payload.handler),
        (2, "department-head", "head-fire"),
        (3, "supervision", None),
    ]
    [ladder] = next(c for c in listed.json() if c["case_id"] == report.case_id)["escalations"]
    assert (ladder["stage"], ladder["levels_fired"]) == ("accept", [1, 2, 3])
