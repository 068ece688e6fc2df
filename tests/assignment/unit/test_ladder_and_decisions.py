"""The escalation ladder never fires a level twice; decisions are deterministic."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gridcase_assignment.adapters.seed_files import load_calendar, load_sla_policy
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.domain.ladder import LadderPolicy
from gridcase_assignment.domain.model import (
    Case,
    assign,
    escalate,
    finish_stages,
    next_ladder_at,
    open_ladder,
    reassign,
    returned,
)
from gridcase_contracts.codes import (
    SUPERVISOR_QUEUE,
    CaseStatus,
    Category,
    District,
    Severity,
    Stage,
)
from gridcase_contracts.events import Actor

OVERDUE_AT = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
POLICY = LadderPolicy(level2_delay=timedelta(hours=4), level3_delay=timedelta(hours=24))
CASE = Case(
    case_id="GC-20260304-ABCDEFGH",
    category=Category.HOUSING_SAFETY,
    severity=Severity.HIGH,
    district=District.D03,
    reported_at=datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
    status="assigned",
    department="housing-bureau",
    handler="h-housing-1",
)


def overdue(case: Case = CASE) -> Case:
    return open_ladder(case, Stage.ACCEPT, due_at=OVERDUE_AT, overdue_at=OVERDUE_AT)


def levels(decision_events: tuple[object, ...]) -> list[int]:
    return [event.payload.level for event in decision_events]  # type: ignore[attr-defined]


def fire(case: Case, at: datetime) -> tuple[Case, list[int]]:
    decision = escalate(case, Stage.ACCEPT, policy=POLICY, department_head="head-housing", now=at)
    return decision.case, levels(decision.events)


def test_each_level_fires_once_at_its_time() -> None:
    case, fired = fire(overdue(), OVERDUE_AT)
    assert fired == [1]
    case, fired = fire(case, OVERDUE_AT + timedelta(hours=1))
    assert fired == []
    assert next_ladder_at(case, POLICY) == OVERDUE_AT + timedelta(hours=4)
    case, fired = fire(case, OVERDUE_AT + timedelta(hours=4))
    assert fired == [2]
    case, fired = fire(case, OVERDUE_AT + timedelta(days=3))
    assert fired == [3]
    for later in (timedelta(days=3), timedelta(days=30)):
        case, fired = fire(case, OVERDUE_AT + later)
        assert fired == []
    assert next_ladder_at(case, POLICY) is None


def test_a_late_scan_fires_every_missed_level_once() -> None:
    case, fired = fire(overdue(), OVERDUE_AT + timedelta(days=2))
    assert fired == [1, 2, 3]
    assert fire(case, OVERDUE_AT + timedelta(days=2))[1] == []


def test_a_second_overdue_of_the_same_stage_does_not_restart_the_ladder() -> None:
    case, _ = fire(overdue(), OVERDUE_AT)
    again = open_ladder(case, Stage.ACCEPT, due_at=OVERDUE_AT, overdue_at=OVERDUE_AT)
    assert again == case
    assert fire(again, OVERDUE_AT)[1] == []


def test_a_completed_stage_stops_its_ladder() -> None:
    case, _ = fire(overdue(), OVERDUE_AT)
    accepted = finish_stages(case, (Stage.ACCEPT,), status="accepted")
    assert accepted.status == "accepted"
    assert fire(accepted, OVERDUE_AT + timedelta(days=3))[1] == []
    assert next_ladder_at(accepted, POLICY) is None


def test_escalations_address_handler_head_and_supervision() -> None:
    decision = escalate(
        overdue(),
        Stage.ACCEPT,
        policy=POLICY,
        department_head="head-housing",
        now=OVERDUE_AT + timedelta(days=2),
    )
    assert [(e.payload.target, e.payload.handler) for e in decision.events] == [  # type: ignore[attr-defined]
        ("handler", "h-housing-1"),
        ("department-head", "head-housing"),
        ("supervision", None),
    ]


def test_the_same_state_gives_the_same_decision() -> None:
    settings = AssignmentSettings()
    sla, calendar = load_sla_policy(settings), load_calendar(settings)
    now = datetime(2026, 3, 4, 2, 0, 5, tzinfo=UTC)

    def decide() -> object:
        return assign(
            CASE,
            department="housing-bureau",
            co_departments=("urban-management-bureau",),
            handler="h-housing-2",
            due=sla.due_dates(CASE.category, CASE.severity, CASE.reported_at, calendar),
            reason="catalogue",
            cause="0b3f4a52-1111-4222-8333-944455556666",
            now=now,
        )

    assert decide() == decide()
    first = decide()
    assert first.events[0].event_id == decide().events[0].event_id  # type: ignore[attr-defined]
    ladder_once = escalate(overdue(), Stage.ACCEPT, policy=POLICY, department_head=None, now=now)
    ladder_twice = escalate(overdue(), Stage.ACCEPT, policy=POLICY, department_head=None, now=now)
    assert ladder_once == ladder_twice


def test_returns_count_and_the_queue_takes_the_case() -> None:
    back = returned(CASE, department="housing-bureau")
    assert (back.returns, back.status, back.handler, back.tried) == (
        1,
        "returned",
        None,
        ("housing-bureau",),
    )
    decision = reassign(
        back,
        department=SUPERVISOR_QUEUE,
        handler="ignored-in-the-queue",
        due=None,
        reason="returned too often",
        by=Actor(actor_id="gridcase-assignment", role="system"),
        cause="c",
        now=OVERDUE_AT,
    )
    payload = decision.events[0].payload  # type: ignore[attr-defined]
    assert (payload.supervisor_queue, payload.handler, payload.from_department) == (
        True,
        None,
        "housing-bureau",
    )


def to_supervisor_queue(case: Case) -> Case:
    return reassign(
        case,
        department=SUPERVISOR_QUEUE,
        handler=None,
        due=None,
        reason="returned too often",
        by=Actor(actor_id="gridcase-assignment", role="system"),
        cause="queue",
        now=OVERDUE_AT + timedelta(hours=1),
    ).case


def test_the_supervisor_queue_stops_the_ladders_of_the_departments_before() -> None:
    case, _ = fire(overdue(), OVERDUE_AT)
    queued = to_supervisor_queue(case)
    assert queued.ladders[Stage.ACCEPT].fired == (1,)
    assert fire(queued, OVERDUE_AT + timedelta(days=3))[1] == []
    assert next_ladder_at(queued, POLICY) is None


def test_no_ladder_starts_while_the_case_waits_for_a_supervisor() -> None:
    queued = to_supervisor_queue(CASE)
    assert overdue(queued) == queued
    assert fire(overdue(queued), OVERDUE_AT + timedelta(days=3))[1] == []


REASSIGNABLE = {"reported", "assigned", "accepted", "in_remediation", "returned", "reopened"}


@pytest.mark.parametrize("status", list(CaseStatus))
def test_only_cases_remediation_would_move_can_be_reassigned(status: CaseStatus) -> None:
    assert replace(CASE, status=status.value).is_reassignable == (status in REASSIGNABLE)
