"""Handlers over the in-memory repository: versions, dedupe, visibility, SLA timer."""

from datetime import timedelta

import pytest
from remediation.unit.builders import CASE_ID, NOW, assigned, event, event_for

from gridcase_contracts.codes import SUPERVISOR_QUEUE, CaseStatus, Stage
from gridcase_contracts.events import CaseReassigned, CaseReassignedPayload
from gridcase_remediation.adapters.fakes import FakeCaseRepository
from gridcase_remediation.domain.actions import ActorNotPermittedError, Decider
from gridcase_remediation.domain.case import fold
from gridcase_remediation.domain.lifecycle import Action
from gridcase_remediation.handlers import (
    CaseNotFoundError,
    ExpectedVersion,
    VersionConflictError,
    VersionRequiredError,
    allowed_actions,
    flag_overdue,
    get_case,
    rebuilt,
    record_events,
    take_action,
)
from gridcase_runtime.auth import Principal, Role
from stories import SUPERVISOR

HANDLER = Principal(subject="h-1", role=Role.HANDLER, department="housing-bureau")


@pytest.fixture
async def store() -> FakeCaseRepository:
    repository = FakeCaseRepository()
    await record_events(repository, [event_for(Action.REPORT), assigned()])
    return repository


async def accept(store: FakeCaseRepository, expected: ExpectedVersion | None) -> None:
    await take_action(
        store,
        case_id=CASE_ID,
        principal=HANDLER,
        expected=expected,
        decide=Decider.accept,
        now=NOW,
    )


async def test_an_action_at_the_current_version_is_stored_with_its_event_in_the_outbox(
    store: FakeCaseRepository,
) -> None:
    await accept(store, ExpectedVersion(2, from_if_match=True))
    record = await store.get(CASE_ID)
    assert record is not None
    assert (record.case.status, record.version) == (CaseStatus.ACCEPTED, 3)
    assert [e.event_type for e in store.outbox] == ["CaseAccepted"]
    assert record.ledger[-1].event_id == str(store.outbox[0].event_id)


@pytest.mark.parametrize("from_if_match", [True, False])
async def test_a_stale_version_changes_nothing(
    store: FakeCaseRepository, from_if_match: bool
) -> None:
    before = await store.get(CASE_ID)
    with pytest.raises(VersionConflictError) as raised:
        await accept(store, ExpectedVersion(1, from_if_match=from_if_match))
    assert (raised.value.current, raised.value.precondition) == (2, from_if_match)
    assert await store.get(CASE_ID) == before
    assert store.outbox == []


async def test_an_action_without_a_version_is_refused(store: FakeCaseRepository) -> None:
    with pytest.raises(VersionRequiredError):
        await accept(store, None)


async def test_a_write_that_loses_the_race_is_a_conflict(store: FakeCaseRepository) -> None:
    class Interleaved(FakeCaseRepository):
        """Another event lands between this action's read and its write."""

        async def save(self, before, after, appended, *, emit):  # type: ignore[no-untyped-def]
            if emit:
                await record_events(store, [event_for(Action.ESCALATE)])
            return await store.save(before, after, appended, emit=emit)

        async def get(self, case_id):  # type: ignore[no-untyped-def]
            return await store.get(case_id)

    with pytest.raises(VersionConflictError) as raised:
        await accept(Interleaved(), ExpectedVersion(2, from_if_match=True))
    record = await store.get(CASE_ID)
    assert record is not None
    assert raised.value.current == 3
    assert (record.case.status, record.version) == (CaseStatus.ASSIGNED, 3)
    assert store.outbox == []


async def test_a_redelivered_event_changes_nothing(store: FakeCaseRepository) -> None:
    before = await store.get(CASE_ID)
    assert before is not None
    replayed = [entry.event() for entry in before.ledger]
    assert await record_events(store, replayed + replayed) == 0
    assert await store.get(CASE_ID) == before


async def test_a_handler_of_another_department_does_not_see_the_case(
    store: FakeCaseRepository,
) -> None:
    stranger = Principal(subject="h-7", role=Role.HANDLER, department="fire-rescue")
    with pytest.raises(CaseNotFoundError):
        await get_case(store, CASE_ID, stranger)
    with pytest.raises(CaseNotFoundError):
        await take_action(
            store,
            case_id=CASE_ID,
            principal=stranger,
            expected=ExpectedVersion(2, from_if_match=True),
            decide=Decider.accept,
            now=NOW,
        )
    assert (await get_case(store, CASE_ID, HANDLER)).version == 2


async def test_a_co_handling_department_reads_the_case_but_may_not_act_on_it() -> None:
    store = FakeCaseRepository()
    co_assigned = assigned(co_departments=("fire-rescue",))
    await record_events(store, [event_for(Action.REPORT), co_assigned])
    co_handler = Principal(subject="h-7", role=Role.HANDLER, department="fire-rescue")
    record = await get_case(store, CASE_ID, co_handler)
    assert allowed_actions(record.case, co_handler) == []
    assert allowed_actions(record.case, HANDLER) == [Action.ACCEPT, Action.REJECT, Action.RETURN]
    for decide in (Decider.accept, lambda d: d.return_case(reason="not ours")):
        with pytest.raises(ActorNotPermittedError):
            await take_action(
                store,
                case_id=CASE_ID,
                principal=co_handler,
                expected=ExpectedVersion(2, from_if_match=True),
                decide=decide,
                now=NOW,
            )
    assert await store.get(CASE_ID) == record
    assert store.outbox == []
    await accept(store, ExpectedVersion(2, from_if_match=True))
    assert (await get_case(store, CASE_ID, co_handler)).case.status == CaseStatus.ACCEPTED


async def test_the_sla_timer_flags_a_stage_once(store: FakeCaseRepository) -> None:
    late = NOW + timedelta(hours=5)
    assert await flag_overdue(store, late) == 1
    assert await flag_overdue(store, late) == 0
    assert [e.payload.stage for e in store.outbox] == [Stage.ACCEPT]  # type: ignore[attr-defined]
    much_later = NOW + timedelta(days=2)
    assert await flag_overdue(store, much_later) == 1
    assert [e.payload.stage for e in store.outbox] == [  # type: ignore[attr-defined]
        Stage.ACCEPT,
        Stage.FIRST_RESPONSE,
    ]


async def test_the_projection_rebuilt_from_the_ledger_equals_the_live_one(
    store: FakeCaseRepository,
) -> None:
    await accept(store, ExpectedVersion(2, from_if_match=False))
    await flag_overdue(store, NOW + timedelta(days=2))
    record = await store.get(CASE_ID)
    assert record is not None
    assert rebuilt(record) == record.case


async def test_an_action_ahead_of_an_unconsumed_event_keeps_the_ledger_order(
    store: FakeCaseRepository,
) -> None:
    """The known limitation the repository documents: the ledger (and so the live state
    and a rebuild) follows the order of writes here, a replay the order of the topic."""
    await accept(store, ExpectedVersion(2, from_if_match=True))
    own = store.outbox[0]
    routed = event(
        CaseReassigned,
        CaseReassignedPayload(
            from_department="housing-bureau",
            department=SUPERVISOR_QUEUE,
            reason="returned too often",
            by=SUPERVISOR,
            supervisor_queue=True,
        ),
    )
    await record_events(store, [routed, own])  # the topic order: assignment's event first
    record = await store.get(CASE_ID)
    assert record is not None
    assert [entry.event_type for entry in record.ledger][-2:] == ["CaseAccepted", "CaseReassigned"]
    assert (record.case.status, record.case.department) == (CaseStatus.ASSIGNED, SUPERVISOR_QUEUE)
    assert rebuilt(record) == record.case
    topic_order = [entry.event() for entry in record.ledger[:2]] + [routed, own]
    assert fold(CASE_ID, topic_order).status == CaseStatus.ACCEPTED
