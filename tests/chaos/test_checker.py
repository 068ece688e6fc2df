"""The chaos checker counts what it claims to: lost, duplicated and unexpected reports,
actions and applied events."""

from datetime import UTC, datetime

from chaos.checker import judge
from chaos.workload import Ledger, report

from factories import case_reported
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import CaseReported
from stories import CaseStory

MAY_DAY = datetime(2026, 5, 1, 9, tzinfo=UTC)


def reported(key: str, case_id: str) -> CaseReported:
    event = case_reported(case_id)
    payload = event.payload.model_copy(update={"description": report(key)["description"]})
    return event.model_copy(update={"payload": payload})


def worked(key: str, case_id: str) -> list[Envelope]:
    """A case reported under `key`, assigned and accepted."""
    events = CaseStory(case_id, MAY_DAY).assigned(1).accepted(2).events
    return [reported(key, case_id), *events[1:]]


def everything(events: list[Envelope]) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for event in events:
        applied.setdefault(event.case_id, []).append(str(event.event_id))
    return applied


def test_a_clean_run_counts_nothing() -> None:
    ledger = Ledger(
        acknowledged={"k1": "GC-0001", "k2": "GC-0002"},
        actions={("GC-0001", "CaseAccepted"): True, ("GC-0002", "CaseAccepted"): False},
    )
    events = worked("k1", "GC-0001") + worked("k2", "GC-0002")
    applied = {"intake": everything(events), "remediation-tracking": everything(events)}
    decisions = {str(event.event_id) for event in events if event.event_type == "CaseAssigned"}
    applied["assignment"] = {
        case: [i for i in ids if i not in decisions] for case, ids in everything(events).items()
    }
    # a redelivered record is no duplicate; an action whose answer was lost may be there
    verdict = judge(ledger, [*events, events[0]], applied)
    assert (verdict.acknowledged, verdict.lost, verdict.duplicated, verdict.unexpected) == (
        2,
        0,
        0,
        0,
    ), verdict.findings


def test_lost_duplicated_and_unexpected_are_each_counted() -> None:
    ledger = Ledger(
        acknowledged={"k1": "GC-0001", "k2": "GC-0002", "k3": "GC-0003"},
        actions={("GC-0001", "CaseAccepted"): True, ("GC-0002", "CaseAccepted"): True},
    )
    first = worked("k1", "GC-0001")
    second = worked("k2", "GC-0002")[:2]  # its acknowledged CaseAccepted never made it
    events = [
        *first,
        *CaseStory("GC-0001", MAY_DAY).accepted(3).events[1:],  # a step made twice
        *second,
        reported("k2", "GC-0002-again"),  # one key, two cases
        reported("k9", "GC-0009"),  # never acknowledged
        # k3's report never reached the topic
    ]
    applied = everything(events)
    applied["GC-0001"].append(applied["GC-0001"][0])  # one event applied twice
    del applied["GC-0009"]  # not applied
    verdict = judge(ledger, events, {"intake": applied})
    lost = ["report GC-0003", "action GC-0002", "GC-0009 not applied"]
    duplicated = ["two cases for k2", "GC-0001 accepted twice", "GC-0001 applied twice"]
    unexpected = ["k9 never sent"]
    assert (verdict.lost, verdict.duplicated, verdict.unexpected) == (
        len(lost),
        len(duplicated),
        len(unexpected),
    ), verdict.findings
