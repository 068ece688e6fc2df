"""Faults on the real broker and Mongo-wire server: a crash between storing an action and
publishing it, and the SLA timer across a restart."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from remediation.integration.cases import assigned, new_case_id, reported
from remediation.integration.harness import (
    bearer,
    case_version,
    eventually,
    publish,
    running_service,
    settings_for,
    topic_events,
)

from gridcase_contracts.envelope import Envelope
from gridcase_remediation.config import RemediationSettings
from gridcase_runtime.auth import Role
from gridcase_runtime.mongo import close, connect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def settings(
    service_env: dict[str, str], namespace: str
) -> AsyncIterator[RemediationSettings]:
    settings = settings_for(service_env, namespace)
    yield settings
    database = connect(settings.mongodb_url, settings.mongodb_database)
    await database.client.drop_database(settings.mongodb_database)
    close(database)


async def test_a_crash_between_store_and_publish_loses_nothing_and_duplicates_nothing(
    settings: RemediationSettings,
) -> None:
    case_id = new_case_id()
    await publish(settings, [reported(case_id), assigned(case_id)])
    handler = {**bearer(settings, "h-1", Role.HANDLER, "housing-bureau"), "If-Match": '"2"'}

    # The process stores the action, then dies before its relay publishes anything.
    async with running_service(settings, workers=("consumer",)) as (http, parts):

        async def assigned_here() -> bool:
            return await case_version(parts, case_id) == 2

        await eventually(assigned_here)
        accepted = await http.post(f"/v1/cases/{case_id}/accept", headers=handler)
        assert accepted.status_code == 200
        stored = await parts.repository.cases.find_one({"_id": case_id})
        assert stored is not None
        assert [entry["event_type"] for entry in stored["outbox"]] == ["CaseAccepted"]
    assert "CaseAccepted" not in [e.event_type for e in await topic_events(settings)]

    # A fresh process relays the stored event once; its consumer dedupes the copy.
    async with running_service(settings) as (_, parts):

        async def published() -> bool:
            events = await topic_events(settings)
            return any(e.event_type == "CaseAccepted" and e.case_id == case_id for e in events)

        await eventually(published)

        async def relayed() -> bool:
            return (
                await parts.repository.cases.count_documents(
                    {"_id": case_id, "outbox_pending": False}
                )
                == 1
            )

        await eventually(relayed)
        marker = new_case_id()
        await publish(settings, [reported(marker)])

        async def consumed_past_it() -> bool:
            return await case_version(parts, marker) == 1

        await eventually(consumed_past_it)
        record = await parts.repository.get(case_id)
        assert record is not None
        assert [entry.event_type for entry in record.ledger] == [
            "CaseReported",
            "CaseAssigned",
            "CaseAccepted",
        ]
        assert (record.version, record.case.status) == (3, "accepted")
    on_topic = [e for e in await topic_events(settings) if e.case_id == case_id]
    assert [e.event_type for e in on_topic].count("CaseAccepted") == 1


async def test_an_overdue_stage_emits_case_overdue_once_across_a_restart(
    settings: RemediationSettings,
) -> None:
    case_id = new_case_id()
    await publish(settings, [reported(case_id), assigned(case_id, accept_in=timedelta(seconds=-1))])

    def overdue(events: list[Envelope]) -> list[Envelope]:
        return [e for e in events if e.event_type == "CaseOverdue" and e.case_id == case_id]

    async with running_service(settings) as (_, parts):

        async def flagged_and_published() -> bool:
            return len(overdue(await topic_events(settings))) == 1

        await eventually(flagged_and_published)
        record = await parts.repository.get(case_id)
        assert record is not None
        assert [stage.value for stage in record.case.overdue_stages()] == ["accept"]

    async with running_service(settings) as (_, parts):
        assert await parts.sla_timer.flag_overdue_stages() == 0
        assert await parts.sla_timer.flag_overdue_stages() == 0
        await parts.relay.relay_once()
        record = await parts.repository.get(case_id)
        assert record is not None
        assert [entry.event_type for entry in record.ledger].count("CaseOverdue") == 1
    events = overdue(await topic_events(settings))
    assert [(e.payload.stage.value, e.case_id) for e in events] == [  # type: ignore[attr-defined]
        ("accept", case_id)
    ]
