"""Every status x action pair of the lifecycle table, for events and for API actions."""

import types
import typing
from datetime import timedelta

import pytest
from remediation.unit.builders import NOW, PHOTO, case_in, event_for

from gridcase_contracts.codes import CaseStatus, Measure
from gridcase_contracts.envelope import Envelope
from gridcase_remediation.domain.actions import Decider
from gridcase_remediation.domain.case import Case, CaseChanges, apply
from gridcase_remediation.domain.lifecycle import (
    COMMANDS,
    Action,
    ActionNotAllowedError,
    allowed_commands,
)
from stories import HANDLER, REPORTER, SUPERVISOR

# The lifecycle as DOMAIN.md describes it, written out independently of the code's table.
# Columns: the status before (abbreviated, see _NAMES); cells: the status after,
# "=" for unchanged, "-" for not allowed.
SPEC = """
action              none rep  asg  acc  rem  res  ver  clo  rej  ret  dup  reo
report              rep  -    -    -    -    -    -    -    -    -    -    -
assign              -    asg  -    -    -    -    -    -    -    asg  -    =
reassign            -    asg  asg  asg  asg  -    -    -    -    asg  -    asg
mark_duplicate      -    dup  dup  -    -    -    -    -    -    dup  -    -
split               -    -    -    -    -    -    -    -    -    -    rep  -
escalate            -    =    =    =    =    =    =    -    -    =    -    =
accept              -    -    acc  -    -    -    -    -    -    -    -    -
order_rectification -    -    -    rem  rem  -    -    -    -    -    -    rem
record_progress     -    -    -    rem  rem  -    -    -    -    -    -    rem
resolve             -    -    -    res  res  -    -    -    -    -    -    res
verify              -    -    -    -    -    ver  -    -    -    -    -    -
reopen              -    -    -    -    -    reo  -    -    -    -    -    -
close               -    -    -    -    -    -    clo  -    -    -    -    -
reject              -    -    rej  rej  -    -    -    -    -    -    -    -
return              -    -    ret  ret  -    -    -    -    -    -    -    -
confirm             -    -    -    -    -    =    =    =    -    -    -    -
flag_overdue        -    =    =    =    =    =    =    -    -    =    -    =
"""

_NAMES: dict[str, CaseStatus | None] = {
    "none": None,
    "rep": CaseStatus.REPORTED,
    "asg": CaseStatus.ASSIGNED,
    "acc": CaseStatus.ACCEPTED,
    "rem": CaseStatus.IN_REMEDIATION,
    "res": CaseStatus.RESOLVED,
    "ver": CaseStatus.VERIFIED,
    "clo": CaseStatus.CLOSED,
    "rej": CaseStatus.REJECTED,
    "ret": CaseStatus.RETURNED,
    "dup": CaseStatus.DUPLICATE,
    "reo": CaseStatus.REOPENED,
}


def _status(name: str) -> CaseStatus | None:
    return _NAMES[name]


def _pairs() -> list[tuple[CaseStatus | None, Action, str]]:
    header, *rows = SPEC.strip().splitlines()
    statuses = [_status(name) for name in header.split()[1:]]
    pairs = []
    for row in rows:
        action, *cells = row.split()
        pairs += [(s, Action(action), cell) for s, cell in zip(statuses, cells, strict=True)]
    return pairs


PAIRS = _pairs()


def test_the_spec_covers_every_status_and_action() -> None:
    assert {(s, a) for s, a, _ in PAIRS} == {(s, a) for s in [None, *CaseStatus] for a in Action}


def _expected(status: CaseStatus | None, cell: str) -> CaseStatus | None:
    if cell == "-":
        return None
    return status if cell == "=" else _status(cell)


def _id(pair: tuple[CaseStatus | None, Action, str]) -> str:
    return f"{pair[0] or 'none'}-{pair[1].value}"


@pytest.mark.parametrize(("status", "action", "cell"), PAIRS, ids=map(_id, PAIRS))
def test_a_consumed_event_follows_the_table(
    status: CaseStatus | None, action: Action, cell: str
) -> None:
    before = case_in(status)
    after = apply(before, event_for(action))
    expected = _expected(status, cell)
    if expected is None:
        assert after.status == status
        assert len(after.anomalies) == 1
        assert after.model_copy(update={"anomalies": ()}) == before
    else:
        assert after.status == expected
        assert after.anomalies == ()


def decide(action: Action, decider: Decider) -> Envelope:
    match action:
        case Action.ACCEPT:
            return decider.accept()
        case Action.ORDER_RECTIFICATION:
            return decider.order_rectification(
                measure=Measure.RESPONSIBILITY_CONTRACTING,
                deadline=NOW + timedelta(days=2),
                responsible_party="landlord",
                note=None,
            )
        case Action.RECORD_PROGRESS:
            return decider.record_progress(note="scaffolding up", photos=[])
        case Action.RESOLVE:
            return decider.resolve(note="fixed", photos=[PHOTO])
        case Action.VERIFY:
            return decider.verify(passed=True, reason=None)
        case Action.REOPEN:
            return decider.verify(passed=False, reason="still leaking")
        case Action.CLOSE:
            return decider.close(note=None)
        case Action.REJECT:
            return decider.reject(reason="not a hazard")
        case Action.RETURN:
            return decider.return_case(reason="not ours")
        case Action.CONFIRM:
            return decider.confirm(satisfied=True, rating=4, comment=None)
    raise AssertionError(action)


ACTOR_OF = {Action.VERIFY: SUPERVISOR, Action.REOPEN: SUPERVISOR, Action.CONFIRM: REPORTER}
COMMAND_PAIRS = [pair for pair in PAIRS if pair[1] in COMMANDS]


@pytest.mark.parametrize(("status", "action", "cell"), COMMAND_PAIRS, ids=map(_id, COMMAND_PAIRS))
def test_an_api_action_follows_the_table(
    status: CaseStatus | None, action: Action, cell: str
) -> None:
    case = case_in(status)
    decider = Decider(case, by=ACTOR_OF.get(action, HANDLER), now=NOW, correlation_id="c-1")
    expected = _expected(status, cell)
    if expected is None:
        with pytest.raises(ActionNotAllowedError) as raised:
            decide(action, decider)
        assert raised.value.allowed == allowed_commands(status)
        assert action not in raised.value.allowed
    else:
        event = decide(action, decider)
        assert (event.case_id, event.correlation_id) == (case.case_id, "c-1")
        assert apply(case, event).status == expected


def test_allowed_actions_of_an_assigned_case() -> None:
    assert allowed_commands(CaseStatus.ASSIGNED) == [Action.ACCEPT, Action.REJECT, Action.RETURN]


def _members(annotation: object) -> set[object]:
    """The types a union admits; any other annotation as itself."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return set(typing.get_args(annotation)) if union else {annotation}


def test_what_an_event_may_change_is_a_field_of_the_case_with_its_type() -> None:
    """`CaseChanges` types each event's effects; a key or type the case does not have would
    reach `model_copy` unchecked."""
    fields = {name: info.annotation for name, info in Case.model_fields.items()}
    changes = typing.get_type_hints(CaseChanges)
    assert set(changes) <= set(fields) - {"status", "updated_at", "anomalies"}
    for name, annotation in changes.items():
        assert _members(annotation) <= _members(fields[name]), name
