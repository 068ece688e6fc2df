"""The ledger's hash chain: its canonical bytes, and every way a stored ledger can break."""

import hashlib
from dataclasses import replace

from remediation.unit.builders import CASE_ID, event_for

from factories import case_reported
from gridcase_remediation.domain.ledger import (
    GENESIS,
    ChainBreak,
    LedgerEntry,
    chained,
    first_break,
    with_events,
)
from gridcase_remediation.domain.lifecycle import Action


def a_ledger() -> tuple[LedgerEntry, ...]:
    events = [case_reported(CASE_ID), event_for(Action.ASSIGN), event_for(Action.ACCEPT)]
    return with_events((), events)


def test_an_entry_hashes_its_canonical_json_and_the_previous_hash() -> None:
    event = case_reported(CASE_ID)
    entry = with_events((), [event])[0]
    canonical = (
        '{"event":' + _json_string(event.model_dump_json()) + ","
        f'"event_id":"{event.event_id}",'
        f'"event_type":"CaseReported",'
        f'"occurred_at":"{event.occurred_at.isoformat()}",'
        f'"prev_hash":"{GENESIS}"}}'
    )
    assert entry.prev_hash == GENESIS
    assert entry.hash == hashlib.sha256(canonical.encode()).hexdigest()


def _json_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_each_entry_links_to_the_one_before() -> None:
    ledger = a_ledger()
    assert [entry.prev_hash for entry in ledger[1:]] == [entry.hash for entry in ledger[:-1]]
    assert first_break(ledger, version=3) is None


def test_an_altered_event_breaks_the_chain_at_that_entry() -> None:
    ledger = list(a_ledger())
    ledger[1] = replace(ledger[1], json=ledger[1].json.replace("housing-bureau", "fire-rescue"))
    assert first_break(ledger, version=3) == ChainBreak(
        2, "the entry's contents do not match its hash"
    )


def test_an_entry_rehashed_after_an_edit_breaks_the_link_of_the_next() -> None:
    ledger = list(a_ledger())
    ledger[1] = replace(ledger[1], json=ledger[1].json.replace("h-1", "h-2")).sealed()
    assert first_break(ledger, version=3) == ChainBreak(
        3, "prev_hash is not the hash of the entry before"
    )


def test_a_removed_or_reordered_entry_breaks_the_chain() -> None:
    ledger = a_ledger()
    link = "prev_hash is not the hash of the entry before"
    assert first_break((ledger[0], ledger[2]), version=2) == ChainBreak(2, link)
    assert first_break((ledger[1], ledger[0], ledger[2]), version=3) == ChainBreak(1, link)


def test_a_removed_last_entry_shows_in_the_version() -> None:
    assert first_break(a_ledger()[:2], version=3) == ChainBreak(
        2, "the ledger has 2 entries, version 3"
    )


def test_a_ledger_stored_before_the_chain_is_linked_to_the_same_hashes() -> None:
    ledger = a_ledger()
    unlinked = [LedgerEntry(e.event_id, e.event_type, e.occurred_at, e.json) for e in ledger]
    assert first_break(unlinked, version=3) == ChainBreak(1, "the entry has no hash")
    assert chained(unlinked) == ledger
    grown = with_events(unlinked, [event_for(Action.ORDER_RECTIFICATION)])
    assert grown[:3] == ledger
    assert first_break(grown, version=4) is None


def test_the_stored_form_keeps_the_links() -> None:
    ledger = a_ledger()
    assert tuple(LedgerEntry.from_document(e.to_document()) for e in ledger) == ledger
