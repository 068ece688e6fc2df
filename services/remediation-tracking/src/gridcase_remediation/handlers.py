"""One function per command or event; the store and the clock are parameters."""

from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from gridcase_contracts.codes import Service
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import Actor, CaseOverdue, CaseOverduePayload, new_event
from gridcase_remediation import metrics
from gridcase_remediation.domain.actions import ActorNotPermittedError, Decider
from gridcase_remediation.domain.case import Case, apply, fold
from gridcase_remediation.domain.ledger import CaseRecord, ChainBreak, first_break, with_events
from gridcase_remediation.domain.lifecycle import ACTION_OF_EVENT, Action, allowed_commands
from gridcase_remediation.ports import CaseStore, CaseWrite, ProjectionStore
from gridcase_runtime import metrics as runtime_metrics
from gridcase_runtime.auth import Principal, Role
from gridcase_runtime.batches import per_case


class CaseNotFoundError(Exception):
    """No such case, or none the caller may see (the two are not told apart)."""


class CaseHiddenError(CaseNotFoundError):
    """The case exists but the caller may not see it: answered as not found, counted as
    a refusal."""


class VersionRequiredError(Exception):
    """An action arrived without the version it expects (HTTP 428)."""


class VersionConflictError(Exception):
    """The case moved on since the caller read it; nothing was changed."""

    def __init__(self, current: int, *, precondition: bool) -> None:
        self.current = current
        self.precondition = precondition
        """True when the stale version came in If-Match (HTTP 412), else 409."""
        super().__init__(f"the case is at version {current}")


@dataclass(frozen=True)
class ExpectedVersion:
    value: int
    from_if_match: bool


Decision = Callable[[Decider], Envelope]
"""Picks the action of a request, e.g. `lambda d: d.accept()`."""


def visible(case: Case, principal: Principal) -> bool:
    """Handlers see their department's and co-handled cases, volunteers their own reports."""
    if principal.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    if principal.role == Role.HANDLER:
        return principal.department is not None and case.may_read(principal.department)
    return case.reporter_id == principal.subject


def may_act(case: Case, principal: Principal) -> bool:
    """Like `visible`, except that a co-handling department only reads."""
    if principal.role == Role.HANDLER:
        return principal.department is not None and case.leads(principal.department)
    return visible(case, principal)


def allowed_actions(case: Case, principal: Principal) -> list[Action]:
    """The actions the table allows now, if the caller may act on the case at all
    (confirm only until the reporter has confirmed)."""
    if not may_act(case, principal):
        return []
    confirmed = case.satisfaction is not None
    return [a for a in allowed_commands(case.status) if not (confirmed and a == Action.CONFIRM)]


def actor(principal: Principal) -> Actor:
    return Actor(
        actor_id=principal.subject,
        role=principal.role.value,
        department=principal.department,
        name=principal.name,
    )


async def get_case(store: CaseStore, case_id: str, principal: Principal) -> CaseRecord:
    record = await store.get(case_id)
    if record is None:
        raise CaseNotFoundError(case_id)
    if not visible(record.case, principal):
        raise CaseHiddenError(case_id)
    return record


async def get_case_to_act(store: CaseStore, case_id: str, principal: Principal) -> CaseRecord:
    """The case, provided the caller may act on it: 404 for a case the caller may not
    read, 403 for a co-handling department's handler."""
    record = await get_case(store, case_id, principal)
    if not may_act(record.case, principal):
        raise ActorNotPermittedError(
            f"department {principal.department} co-handles this case and may read it; "
            f"only {record.case.department} acts on it"
        )
    return record


def _appended(record: CaseRecord | None, case: Case, events: Sequence[Envelope]) -> CaseRecord:
    ledger = with_events(record.ledger if record else (), events)
    return CaseRecord(case, len(ledger), ledger)


def _count(events: Sequence[Envelope]) -> None:
    for event in events:
        metrics.TRANSITIONS.labels(ACTION_OF_EVENT[event.event_type].value).inc()


async def take_action(
    store: CaseStore,
    *,
    case_id: str,
    principal: Principal,
    expected: ExpectedVersion | None,
    decide: Decision,
    now: datetime,
    correlation_id: str | None = None,
) -> CaseRecord:
    """Decides an action on the case at the expected version and stores the event with
    the new projection and in the outbox, atomically."""
    record = await get_case_to_act(store, case_id, principal)
    if expected is None:
        raise VersionRequiredError
    if expected.value != record.version:
        raise VersionConflictError(record.version, precondition=expected.from_if_match)
    decider = Decider(record.case, by=actor(principal), now=now, correlation_id=correlation_id)
    event = decide(decider)
    after = _appended(record, apply(record.case, event), [event])
    if not await store.save(record, after, [event], emit=True):
        current = await store.get(case_id)
        raise VersionConflictError(
            current.version if current else record.version,
            precondition=expected.from_if_match,
        )
    _count([event])
    return after


async def record_events(store: CaseStore, events: Sequence[Envelope]) -> int:
    """Stores consumed events in their cases' ledgers, each exactly once, in order;
    returns how many were new. The batch's cases are read (not one whose first event is
    its report: its insert fails if the case is there already) and written all at once;
    a case whose write another one preceded (an action, the SLA timer) is then read and
    written again on its own."""
    by_case: dict[str, list[Envelope]] = {}
    for event in events:
        by_case.setdefault(event.case_id, []).append(event)
    unread = [case_id for case_id, own in by_case.items() if own[0].event_type != "CaseReported"]
    records = await store.get_many(unread) if unread else {}
    writes: list[CaseWrite] = []
    seen_before: list[Envelope] = []
    for case_id, own in by_case.items():
        record = records.get(case_id)
        fresh = _fresh(record, own)
        seen_before += [event for event in own if event not in fresh]
        if fresh:
            case = _applied(record, case_id, fresh)
            writes.append(CaseWrite(record, _appended(record, case, fresh), tuple(fresh)))
    refused = await store.save_consumed(writes)
    _count_redelivered(event for event in seen_before if event.case_id not in refused)
    recorded = [write.appended for write in writes if write.case_id not in refused]
    for appended in recorded:
        _count(appended)
    retried = await per_case(
        [event for event in events if event.case_id in refused],
        lambda event: event.case_id,
        lambda own: _record_case_events(store, own[0].case_id, own),
    )
    return sum(len(appended) for appended in recorded) + sum(retried)


def _fresh(record: CaseRecord | None, events: Sequence[Envelope]) -> list[Envelope]:
    """The events the case does not hold yet, each once."""
    seen = {entry.event_id for entry in record.ledger} if record else set()
    fresh: list[Envelope] = []
    for event in events:
        if str(event.event_id) not in seen:
            seen.add(str(event.event_id))
            fresh.append(event)
    return fresh


async def _record_case_events(store: CaseStore, case_id: str, events: list[Envelope]) -> int:
    while True:
        record = await store.get(case_id)
        fresh = _fresh(record, events)
        if not fresh or await store.save(
            record, _appended(record, _applied(record, case_id, fresh), fresh), fresh, emit=False
        ):
            _count(fresh)
            _count_redelivered(event for event in events if event not in fresh)
            return len(fresh)
        # Another write (an action, the SLA timer) came first: read the case again.


def _applied(record: CaseRecord | None, case_id: str, events: Sequence[Envelope]) -> Case:
    case = record.case if record else Case(case_id=case_id)
    for event in events:
        case = apply(case, event)
    return case


def _count_redelivered(seen: Iterable[Envelope]) -> None:
    """Counts the events of other services applied before (this service's own are in the
    ledger since the action that made them)."""
    again = sum(event.producer != Service.REMEDIATION_TRACKING for event in seen)
    runtime_metrics.EVENTS_REDELIVERED.labels("remediation-tracking").inc(again)


async def flag_overdue(store: CaseStore, now: datetime) -> int:
    """Raises CaseOverdue for every open stage past its due date that was not flagged for
    that due date yet; the flag and the outbox entry are one write, so once per stage."""
    flagged = 0
    for case_id in await store.due_case_ids(now):
        while (record := await store.get(case_id)) is not None:
            events: list[Envelope] = [
                new_event(
                    CaseOverdue,
                    case_id=case_id,
                    payload=CaseOverduePayload(stage=stage, due_at=record.case.due[stage]),
                    occurred_at=now,
                )
                for stage in record.case.stages_due_by(now)
            ]
            if not events:
                break
            case = record.case
            for event in events:
                case = apply(case, event)
            if await store.save(record, _appended(record, case, events), events, emit=True):
                _count(events)
                for event in events:
                    metrics.OVERDUE_DETECTED.labels(event.payload.stage.value).inc()
                flagged += len(events)
                break
    return flagged


def rebuilt(record: CaseRecord) -> Case:
    """The projection folded afresh from the case's ledger."""
    return fold(record.case.case_id, (entry.event() for entry in record.ledger))


async def rebuild_projections(store: ProjectionStore, case_id: str | None) -> tuple[int, int]:
    """Refolds projections from their ledgers (one case, or all); returns (checked,
    repaired)."""
    checked = repaired = 0
    case_ids = [case_id] if case_id else [c async for c in store.case_ids()]
    for one in case_ids:
        record = await store.get(one)
        if record is None:
            continue
        checked += 1
        fresh = rebuilt(record)
        if fresh != record.case and await store.replace_projection(record, fresh):
            repaired += 1
    return checked, repaired


def check_chain(record: CaseRecord) -> ChainBreak | None:
    """Recomputes the case's ledger hash chain; a break is counted for the alert."""
    found = first_break(record.ledger, record.version)
    if found is not None:
        metrics.LEDGER_BREAKS.inc()
    return found


async def check_chains(
    store: CaseStore, case_ids: AsyncIterable[str]
) -> tuple[int, dict[str, ChainBreak]]:
    """Checks every case's chain; returns how many were checked and the broken ones."""
    checked = 0
    broken: dict[str, ChainBreak] = {}
    async for case_id in case_ids:
        record = await store.get(case_id)
        if record is None:
            continue
        checked += 1
        if (found := check_chain(record)) is not None:
            broken[case_id] = found
    return checked, broken
