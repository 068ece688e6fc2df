"""The chaos checker counts what it claims to: lost, duplicated and unexpected reports."""

from uuid import uuid4

from chaos.workload import Ledger, judge, report

from factories import case_reported
from gridcase_contracts.events import CaseReported


def reported(key: str, case_id: str) -> CaseReported:
    event = case_reported(case_id)
    payload = event.payload.model_copy(update={"description": report(key)["description"]})
    return event.model_copy(update={"payload": payload})


def test_a_clean_run_counts_nothing() -> None:
    ledger = Ledger(acknowledged={"k1": "GC-0001", "k2": "GC-0002"})
    events = [reported("k1", "GC-0001"), reported("k2", "GC-0002")]
    views = [{"_id": "GC-0001", "event_ids": ["a"]}, {"_id": "GC-0002", "event_ids": ["b"]}]
    verdict = judge(ledger, [*events, events[0]], views)  # a redelivered record is no duplicate
    assert (verdict.acknowledged, verdict.lost, verdict.duplicated, verdict.unexpected) == (
        2,
        0,
        0,
        0,
    )


def test_lost_duplicated_and_unexpected_are_each_counted() -> None:
    ledger = Ledger(acknowledged={"k1": "GC-0001", "k2": "GC-0002", "k3": "GC-0003"})
    events = [
        reported("k1", "GC-0001"),
        reported("k2", "GC-0002"),
        reported("k2", "GC-0002-again"),  # one key, two cases
        reported("k9", "GC-0009"),  # never acknowledged
        # k3's report never reached the topic
    ]
    views = [
        {"_id": "GC-0001", "event_ids": [str(uuid4())] * 2},  # one event applied twice
        {"_id": "GC-0002", "event_ids": ["b"]},
        {"_id": "GC-0003", "event_ids": ["c"]},
    ]
    verdict = judge(ledger, events, views)
    assert (verdict.lost, verdict.duplicated, verdict.unexpected) == (1, 2, 1)
