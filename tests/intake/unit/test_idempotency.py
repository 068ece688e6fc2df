"""Idempotency-Key rules through the submit handler, on in-memory fakes."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from gridcase_contracts.codes import Channel
from gridcase_contracts.events import CaseEvent, CaseReported, Reporter
from gridcase_intake.adapters.fakes import (
    FakeApiKeys,
    FakeCaseViews,
    FakeIdempotencyKeys,
    FakePhotos,
    FakePublisher,
    FakeRateLimits,
)
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.idempotency import (
    KeyRecord,
    KeyState,
    Reservation,
    StoredResponse,
    Verdict,
    fingerprint,
    judge,
    key_id,
    parse_key,
)
from gridcase_intake.domain.reports import ReportIn
from gridcase_intake.entrypoints.consumer import key_sweeper
from gridcase_intake.handlers import (
    IdempotencyConflictError,
    IdempotencyMismatchError,
    KafkaUnavailableError,
    KeyedRequest,
    RateLimitedError,
    Submission,
)
from gridcase_runtime.workers import Periodic


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(clock: Clock) -> Intake:
    return Intake(
        settings=IntakeSettings(),
        publisher=FakePublisher(),
        cases=FakeCaseViews(),
        keys=FakeIdempotencyKeys(),
        photos=FakePhotos(),
        limits=FakeRateLimits(),
        api_keys=FakeApiKeys(),
        clock=clock,
    )


def submission(description: str = "Cracked wall", key: str | None = "k-1") -> Submission:
    report = ReportIn.model_validate(
        {
            "category": "housing-safety",
            "severity": "high",
            "description": description,
            "location": {"lat": 26.9, "lon": 112.6, "district": "D03"},
        }
    )
    keyed = None
    if key is not None:
        keyed = KeyedRequest(
            key_id("volunteer:v-1", key), fingerprint("POST", report.model_dump(mode="json"))
        )
    return Submission(report, Reporter(reporter_id="v-1"), Channel.APP, idempotency=keyed)


def render(event: CaseReported) -> StoredResponse:
    return StoredResponse(201, "application/json", f'{{"case_id": "{event.case_id}"}}')


def published(intake: Intake) -> list[str]:
    assert isinstance(intake.publisher, FakePublisher)
    return [event.case_id for event in intake.publisher.published]


async def test_same_key_same_payload_replays_the_first_answer(intake: Intake) -> None:
    first = await intake.submit(submission(), render)
    again = await intake.submit(submission(), render)
    assert again.replayed
    assert not first.replayed
    assert again.response == first.response
    assert len(published(intake)) == 1


async def test_a_replay_is_answered_even_over_the_rate_limit(clock: Clock) -> None:
    intake = Intake(
        settings=IntakeSettings(reports_per_minute=1),
        publisher=FakePublisher(),
        cases=FakeCaseViews(),
        keys=FakeIdempotencyKeys(),
        photos=FakePhotos(),
        limits=FakeRateLimits(clock=lambda: 120.0),
        api_keys=FakeApiKeys(),
        clock=clock,
    )
    first = await intake.submit(submission(key="k-1"), render)
    again = await intake.submit(submission(key="k-1"), render)
    assert again.replayed
    assert again.response == first.response
    with pytest.raises(RateLimitedError) as limited:
        await intake.submit(submission("Another wall", key="k-2"), render)
    assert limited.value.wait_s == 60, "until the next minute's window"
    keys = intake.keys
    assert isinstance(keys, FakeIdempotencyKeys)
    assert set(keys.records) == {key_id("volunteer:v-1", "k-1")}, "a refused key is not kept"


async def test_same_key_other_payload_is_refused(intake: Intake) -> None:
    await intake.submit(submission(), render)
    with pytest.raises(IdempotencyMismatchError):
        await intake.submit(submission("Another wall"), render)


async def test_a_key_in_flight_is_a_conflict_until_its_lease_ends(
    intake: Intake, clock: Clock
) -> None:
    keys = intake.keys
    assert isinstance(keys, FakeIdempotencyKeys)
    publisher = intake.publisher
    assert isinstance(publisher, FakePublisher)
    publisher.failing = True
    with pytest.raises(KafkaUnavailableError):
        await intake.submit(submission(), render)
    [record] = keys.records.values()
    assert record.state == KeyState.RELEASED
    keys.records[record.key_id] = replace(
        record, state=KeyState.IN_FLIGHT, lease_until=clock.now + timedelta(seconds=30)
    )
    with pytest.raises(IdempotencyConflictError):
        await intake.submit(submission(), render)
    clock.now += timedelta(seconds=31)  # the holder crashed: its lease ran out
    publisher.failing = False
    resumed = await intake.submit(submission(), render)
    assert published(intake) == [record.reservation.case_id]
    assert record.reservation.case_id in resumed.response.body


async def test_a_retry_after_a_failed_publish_resends_the_same_event(intake: Intake) -> None:
    publisher = intake.publisher
    assert isinstance(publisher, FakePublisher)
    publisher.failing = True
    with pytest.raises(KafkaUnavailableError):
        await intake.submit(submission(), render)
    publisher.failing = False
    await intake.submit(submission(), render)
    await intake.submit(submission(), render)
    [event] = publisher.published
    keys = intake.keys
    assert isinstance(keys, FakeIdempotencyKeys)
    [record] = keys.records.values()
    assert (event.case_id, event.event_id) == (
        record.reservation.case_id,
        record.reservation.event_id,
    )


async def test_without_a_key_every_submission_is_a_new_case(intake: Intake) -> None:
    await intake.submit(submission(key=None), render)
    await intake.submit(submission(key=None), render)
    assert len(set(published(intake))) == 2


async def test_keys_are_kept_a_day_then_swept(intake: Intake, clock: Clock) -> None:
    await intake.submit(submission(), render)
    clock.now += timedelta(hours=23, minutes=59)
    assert await intake.sweep() == 0
    clock.now += timedelta(minutes=2)
    assert await intake.sweep() == 1


async def test_the_key_sweeper_is_a_periodic_worker_that_sweeps(
    intake: Intake, clock: Clock
) -> None:
    await intake.submit(submission(), render)
    clock.now += timedelta(days=2)
    sweeper = key_sweeper(intake.sweep, intake.settings.sweep_interval_s)
    assert isinstance(sweeper, Periodic)
    running = asyncio.create_task(sweeper.run())
    keys = intake.keys
    assert isinstance(keys, FakeIdempotencyKeys)
    for _ in range(100):
        if not keys.records:
            break
        await asyncio.sleep(0.01)
    sweeper.stop()
    await asyncio.wait_for(running, timeout=5)
    assert keys.records == {}


def test_key_syntax_scope_and_fingerprints() -> None:
    assert parse_key('"8e03978e-40d5-43e8"') == "8e03978e-40d5-43e8"
    assert parse_key("plain-key") == "plain-key"
    for bad in ('""', "x" * 256, "naïve"):
        with pytest.raises(ValueError, match="Idempotency-Key"):
            parse_key(bad)
    assert key_id("volunteer:a", "k") != key_id("volunteer:b", "k")
    assert fingerprint("r", {"a": 1, "b": 2}) == fingerprint("r", {"b": 2, "a": 1})
    assert fingerprint("r", {}, [b"photo"]) != fingerprint("r", {}, [b"other"])


@pytest.mark.parametrize(
    ("state", "lease_s", "same_payload", "verdict"),
    [
        (KeyState.COMPLETED, -1, True, Verdict.REPLAY),
        (KeyState.COMPLETED, -1, False, Verdict.MISMATCH),
        (KeyState.IN_FLIGHT, 10, True, Verdict.CONFLICT),
        (KeyState.IN_FLIGHT, 10, False, Verdict.MISMATCH),
        (KeyState.IN_FLIGHT, -1, True, Verdict.RESUME),
        (KeyState.RELEASED, 10, True, Verdict.RESUME),
    ],
)
def test_judge(
    clock: Clock, state: KeyState, lease_s: int, same_payload: bool, verdict: Verdict
) -> None:
    record = KeyRecord(
        key_id="k",
        fingerprint="f",
        reservation=Reservation("GC-20240501-ABCDEFGH", uuid4(), clock.now),
        state=state,
        attempt="a",
        lease_until=clock.now + timedelta(seconds=lease_s),
        expires_at=clock.now + timedelta(hours=24),
    )
    assert judge(record, "f" if same_payload else "g", clock.now) == verdict


class SlowCaseViews(FakeCaseViews):
    """A view store that answers only when released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def apply(self, event: CaseEvent, *, accepted_here: bool = False) -> bool:
        await self.release.wait()
        return await super().apply(event, accepted_here=accepted_here)


async def test_a_slow_view_write_delays_the_answer_only_briefly(clock: Clock) -> None:
    views = SlowCaseViews()
    intake = Intake(
        settings=IntakeSettings(local_write_wait_s=0.05),
        publisher=FakePublisher(),
        cases=views,
        keys=FakeIdempotencyKeys(),
        photos=FakePhotos(),
        limits=FakeRateLimits(),
        api_keys=FakeApiKeys(),
        clock=clock,
    )
    outcome = await asyncio.wait_for(intake.submit(submission(), render), timeout=5)
    case_id = published(intake)[0]
    assert outcome.response.status_code == 201
    assert case_id not in views.cases

    views.release.set()
    for _ in range(100):
        if case_id in views.cases:
            break
        await asyncio.sleep(0.01)
    assert case_id in views.cases, "the view write finished after the answer"
    replay = await intake.submit(submission(), render)
    assert replay.replayed, "and so did the key's completion"


async def test_a_report_refused_for_an_outage_gives_its_rate_limit_back(clock: Clock) -> None:
    publisher = FakePublisher()
    intake = Intake(
        settings=IntakeSettings(reports_per_minute=2),
        publisher=publisher,
        cases=FakeCaseViews(),
        keys=FakeIdempotencyKeys(),
        photos=FakePhotos(),
        limits=FakeRateLimits(clock=lambda: 120.0),
        api_keys=FakeApiKeys(),
        clock=clock,
    )
    publisher.failing = True
    for attempt in range(5):
        with pytest.raises(KafkaUnavailableError):
            await intake.submit(submission(key=f"k-{attempt}"), render)
    publisher.failing = False
    await intake.submit(submission(key="k-after-1"), render)
    await intake.submit(submission(key="k-after-2"), render)
    with pytest.raises(RateLimitedError):
        await intake.submit(submission(key="k-after-3"), render)
