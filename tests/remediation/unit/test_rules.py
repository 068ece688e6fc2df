"""Rules of single actions beyond the lifecycle table."""

from datetime import timedelta

import pytest
from remediation.unit.builders import (
    NOW,
    assigned,
    case_in,
    event_for,
)

from gridcase_contracts.codes import CaseStatus, Category, Measure, Stage
from gridcase_contracts.events import Actor
from gridcase_remediation.domain.actions import (
    ActorNotPermittedError,
    Decider,
    RuleViolationError,
)
from gridcase_remediation.domain.case import apply, fold
from gridcase_remediation.domain.lifecycle import Action, ActionNotAllowedError
from stories import HANDLER, REPORTER, SUPERVISOR


def test_the_resolver_may_not_verify_their_own_fix() -> None:
    resolver = Actor(actor_id="s-9", role="supervisor")
    case = case_in(CaseStatus.RESOLVED).model_copy(update={"resolved_by": "s-9"})
    for passed in (True, False):
        with pytest.raises(ActorNotPermittedError):
            Decider(case, by=resolver, now=NOW, correlation_id=None).verify(
                passed=passed, reason="looks fine"
            )
    verified = Decider(case, by=SUPERVISOR, now=NOW, correlation_id=None).verify(
        passed=True, reason=None
    )
    assert verified.event_type == "CaseVerified"


def test_a_failed_verification_needs_a_reason_and_reopens() -> None:
    decider = Decider(case_in(CaseStatus.RESOLVED), by=SUPERVISOR, now=NOW, correlation_id=None)
    with pytest.raises(RuleViolationError) as raised:
        decider.verify(passed=False, reason=None)
    assert raised.value.field == "reason"
    reopened = decider.verify(passed=False, reason="crack is back")
    assert apply(case_in(CaseStatus.RESOLVED), reopened).status == CaseStatus.REOPENED


def test_resolving_needs_a_photo_except_for_obstruction_in_public_services() -> None:
    housing = case_in(CaseStatus.IN_REMEDIATION)
    with pytest.raises(RuleViolationError) as raised:
        Decider(housing, by=HANDLER, now=NOW, correlation_id=None).resolve(note="done", photos=[])
    assert raised.value.field == "photos"
    obstruction = housing.model_copy(update={"category": Category.PUBLIC_SERVICE_OBSTRUCTION})
    event = Decider(obstruction, by=HANDLER, now=NOW, correlation_id=None).resolve(
        note="the counter now opens at 8", photos=[]
    )
    assert event.event_type == "CaseResolved"


def test_a_rectification_deadline_must_lie_ahead() -> None:
    decider = Decider(case_in(CaseStatus.ACCEPTED), by=HANDLER, now=NOW, correlation_id=None)
    with pytest.raises(RuleViolationError) as raised:
        decider.order_rectification(
            measure=Measure.SUSPENSION_FOR_RECTIFICATION,
            deadline=NOW - timedelta(minutes=1),
            responsible_party="shop owner",
            note=None,
        )
    assert raised.value.field == "deadline"


def test_only_the_reporter_confirms_and_only_once() -> None:
    case = case_in(CaseStatus.VERIFIED)
    other = Actor(actor_id="volunteer-2", role="volunteer")
    with pytest.raises(ActorNotPermittedError):
        Decider(case, by=other, now=NOW, correlation_id=None).confirm(
            satisfied=True, rating=5, comment=None
        )
    confirmed = Decider(case, by=REPORTER, now=NOW, correlation_id=None).confirm(
        satisfied=False, rating=2, comment="smell remains"
    )
    after = apply(case, confirmed)
    assert after.satisfaction is not None
    assert (after.satisfaction.satisfied, after.satisfaction.rating) == (False, 2)
    with pytest.raises(ActionNotAllowedError) as raised:
        Decider(after, by=REPORTER, now=NOW, correlation_id=None).confirm(
            satisfied=True, rating=5, comment=None
        )
    assert Action.CONFIRM not in raised.value.allowed


def test_stages_go_overdue_once_per_due_date() -> None:
    case = fold("GC-20250310-ABCDEFGH", [event_for(Action.REPORT), assigned()])
    late = NOW + timedelta(hours=5)
    assert case.stages_due_by(late) == [Stage.ACCEPT]
    flagged = apply(case, event_for(Action.FLAG_OVERDUE))
    assert flagged.stages_due_by(late) == []
    assert flagged.overdue_stages() == [Stage.ACCEPT]
    assert flagged.next_due_at() == case.due[Stage.FIRST_RESPONSE]
    accepted = apply(flagged, event_for(Action.ACCEPT))
    assert accepted.overdue_stages() == []
    assert Stage.ACCEPT not in accepted.open_stages()


def test_the_verify_stage_runs_only_while_resolved() -> None:
    events = [event_for(a) for a in (Action.REPORT, Action.ASSIGN, Action.ACCEPT)]
    accepted = fold("GC-20250310-ABCDEFGH", events)
    assert Stage.VERIFY not in accepted.open_stages()
    resolved = apply(accepted, event_for(Action.RESOLVE))
    assert resolved.open_stages() == [Stage.VERIFY]
    reopened = apply(resolved, event_for(Action.REOPEN))
    assert reopened.open_stages() == [Stage.RESOLVE]
    refreshed = apply(reopened, assigned(reason="reopen"))
    assert refreshed.status == CaseStatus.REOPENED


def test_a_rectification_order_adds_its_deadline_as_a_stage() -> None:
    events = [event_for(a) for a in (Action.REPORT, Action.ASSIGN, Action.ACCEPT)]
    ordered = apply(fold("GC-20250310-ABCDEFGH", events), event_for(Action.ORDER_RECTIFICATION))
    assert ordered.open_stages() == [Stage.RECTIFICATION, Stage.RESOLVE]
    assert ordered.due[Stage.RECTIFICATION] == NOW + timedelta(days=3)
