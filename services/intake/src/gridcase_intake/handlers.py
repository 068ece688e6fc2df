"""One function per command or event; dependencies are parameters (bootstrap wires them)."""

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from pydantic import ValidationError

from gridcase_contracts.codes import Channel
from gridcase_contracts.events import CaseReported, PhotoRef, Reporter, new_event
from gridcase_intake import metrics
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.idempotency import (
    KeyRecord,
    KeyState,
    Reservation,
    StoredResponse,
    Verdict,
    judge,
)
from gridcase_intake.domain.rate_limit import reporter_key
from gridcase_intake.domain.reports import (
    ReportIn,
    ReportRejectedError,
    check_text,
    locate,
    new_case_id,
    photo_id,
    reported_payload,
)
from gridcase_intake.ports import CaseViews, IdempotencyKeys, Photos, RateLimits, Reporting
from gridcase_runtime import metrics as runtime_metrics
from gridcase_runtime.auth import Principal, Role
from gridcase_runtime.faults import crash_at
from gridcase_runtime.kafka_consumer import Delivery
from gridcase_runtime.kafka_producer import PublishError
from gridcase_runtime.outages import is_transient
from gridcase_runtime.photos import CheckedPhoto, PhotoError, checked_photo

log = logging.getLogger(__name__)

VOLUNTEER = "volunteer"
"""The reporter kind of the native API's reports."""


class IdempotencyConflictError(Exception):
    """A request with the same Idempotency-Key is still being processed (409)."""


class IdempotencyMismatchError(Exception):
    """The Idempotency-Key was used before with a different payload (422)."""


class KafkaUnavailableError(Exception):
    """Kafka did not acknowledge the report in time (503); nothing was accepted."""


class OverloadedError(Exception):
    """More reports are in work in this process than it takes at once (503): refused at
    once, before anything else, so a load beyond what the pipeline carries is shed rather
    than queued until clients give up."""


class RateLimitedError(Exception):
    """The caller sent too many new reports (429); `wait_s` until the next is allowed."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"rate limited for {wait_s:.1f} s")
        self.wait_s = wait_s


@dataclass(frozen=True)
class KeyedRequest:
    key_id: str
    fingerprint: str


@dataclass(frozen=True)
class Submission:
    report: ReportIn
    reporter: Reporter
    channel: Channel
    team: str | None = None
    """The volunteer's team, from their token only."""
    photos: list[bytes] = field(default_factory=list)
    media_url: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    idempotency: KeyedRequest | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    response: StoredResponse
    replayed: bool


Render = Callable[[CaseReported], StoredResponse]
Clock = Callable[[], datetime]


def _to_millisecond(moment: datetime) -> datetime:
    """MongoDB keeps milliseconds: a reserved time must read back exactly as it was made."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def _check_photos(photos: list[bytes], max_bytes: int) -> list[CheckedPhoto]:
    checked = []
    for index, data in enumerate(photos):
        try:
            checked.append(await checked_photo(data, max_bytes=max_bytes))
        except PhotoError as error:
            raise ReportRejectedError(("photos", index), str(error), "value_error.photo") from error
    return checked


async def _claim_key(
    keyed: KeyedRequest,
    fresh: Reservation,
    *,
    keys: IdempotencyKeys,
    settings: IntakeSettings,
    attempt: str,
) -> Reservation | StoredResponse:
    """The reservation this attempt publishes, or the stored response to replay."""
    now = fresh.occurred_at
    lease_until = now + timedelta(seconds=settings.idempotency_lease_s)
    record = KeyRecord(
        key_id=keyed.key_id,
        fingerprint=keyed.fingerprint,
        reservation=fresh,
        state=KeyState.IN_FLIGHT,
        attempt=attempt,
        lease_until=lease_until,
        expires_at=now + timedelta(hours=settings.idempotency_retention_h),
    )
    existing = await keys.insert(record)
    if existing is None:
        return fresh
    verdict = judge(existing, keyed.fingerprint, now)
    if verdict == Verdict.REPLAY and existing.response is not None:
        return existing.response
    if verdict == Verdict.MISMATCH:
        raise IdempotencyMismatchError("this Idempotency-Key was used with a different request")
    if verdict == Verdict.RESUME and await keys.take_over(existing, attempt, lease_until):
        return existing.reservation
    raise IdempotencyConflictError("a request with this Idempotency-Key is being processed")


async def _completed_answer(
    keyed: KeyedRequest, keys: IdempotencyKeys, now: datetime
) -> StoredResponse | None:
    """The stored answer of a completed request with this key and payload, if any."""
    existing = await keys.find(keyed.key_id)
    if existing is None or judge(existing, keyed.fingerprint, now) != Verdict.REPLAY:
        return None
    return existing.response


REFUSALS: dict[type[Exception], str] = {
    RateLimitedError: "rate_limited",
    ReportRejectedError: "validation",
    ValidationError: "validation",
    IdempotencyConflictError: "idempotency_conflict",
    IdempotencyMismatchError: "idempotency_mismatch",
    KafkaUnavailableError: "kafka_unavailable",
    OverloadedError: "overloaded",
}
"""What `submit_report` refuses with, and the reason each refusal is counted under."""


def count_refusal(error: Exception, submission: Submission) -> None:
    reason = next(reason for kind, reason in REFUSALS.items() if isinstance(error, kind))
    if isinstance(error, ReportRejectedError) and error.loc[0] == "photos":
        reason = "photo"
    if isinstance(error, RateLimitedError):
        caller = "reporter" if submission.channel == Channel.APP else "api_key"
        metrics.RATE_LIMITED.labels(caller).inc()
    metrics.rejected(reason, submission.report.category.value)


async def submit_report(submission: Submission, render: Render, deps: Reporting) -> Outcome:
    """Checks a report, publishes its CaseReported and answers only after Kafka's ack.

    A retry of a completed request gets its stored answer whatever the rate limit; every
    other submission takes a token of its reporter's rate limit before its text and photos
    are checked.

    Raises RateLimitedError (429), ReportRejectedError or pydantic's ValidationError (422),
    the idempotency errors (409/422) and KafkaUnavailableError (503)."""
    keyed = submission.idempotency
    if keyed is not None:
        answered = await _completed_answer(keyed, deps.keys, deps.clock())
        if answered is not None:
            metrics.IDEMPOTENT_REPLAYS.inc()
            return Outcome(answered, replayed=True)
    limit_key = reporter_key(submission.reporter.reporter_id)
    wait = await deps.limits.acquire(limit_key, deps.settings.reports_per_minute)
    if wait is not None:
        raise RateLimitedError(wait)
    try:
        return await _accept(submission, render, deps)
    except Exception as error:
        if isinstance(error, KafkaUnavailableError) or is_transient(error):
            await _refund(deps.limits, limit_key)
        raise


async def _refund(limits: RateLimits, key: str) -> None:
    """Gives a request that was not served back to its reporter (if the database answers)."""
    try:
        await limits.refund(key)
    except Exception:
        log.warning("could not refund a rate-limited request of %s", key, exc_info=True)


async def _accept(submission: Submission, render: Render, deps: Reporting) -> Outcome:
    """A report within its rate limit: checked, published, answered."""
    keyed = submission.idempotency
    check_text(submission.report)
    checked = await _check_photos(submission.photos, deps.settings.max_photo_bytes)
    location = locate(
        submission.report.location,
        [photo.gps for photo in checked],
        deps.geography,
        deps.settings.fallback_district,
    )
    payload = reported_payload(
        submission.report,
        location=location,
        reporter=submission.reporter,
        team=submission.team,
        channel=submission.channel,
        attributes=submission.attributes,
    )
    now = _to_millisecond(deps.clock())
    reservation = Reservation(new_case_id(now), uuid4(), now)
    attempt = uuid4().hex
    if keyed is not None:
        claimed = await _claim_key(
            keyed, reservation, keys=deps.keys, settings=deps.settings, attempt=attempt
        )
        if isinstance(claimed, StoredResponse):
            metrics.IDEMPOTENT_REPLAYS.inc()
            return Outcome(claimed, replayed=True)
        reservation = claimed
    try:
        refs = [
            await _store_photo(
                photo, n, reservation.case_id, submission, deps.photos, deps.settings
            )
            for n, photo in enumerate(checked)
        ]
        if submission.media_url:
            refs.append(_media_ref(submission.media_url))
        event = new_event(
            CaseReported,
            case_id=reservation.case_id,
            event_id=reservation.event_id,
            occurred_at=reservation.occurred_at,
            payload=payload.model_copy(update={"photos": refs}),
            correlation_id=submission.correlation_id,
        )
        await deps.publisher.publish(event, ingest_ts_ns=time.time_ns())
        crash_at("after-ack-before-answer")
    except PublishError as error:
        if keyed is not None:
            await deps.keys.release(keyed.key_id, attempt, deps.clock())
        raise KafkaUnavailableError(str(error)) from error
    except BaseException:
        if keyed is not None:
            await deps.keys.release(keyed.key_id, attempt, deps.clock())
        raise
    response = render(event)
    await _after_ack(
        event,
        response,
        keyed,
        attempt,
        cases=deps.cases,
        keys=deps.keys,
        wait_s=deps.settings.local_write_wait_s,
    )
    metrics.REPORTS_ACCEPTED.labels(event.payload.category.value, event.payload.channel.value).inc()
    return Outcome(response, replayed=False)


async def _store_photo(
    photo: CheckedPhoto,
    n: int,
    case_id: str,
    submission: Submission,
    photos: Photos,
    settings: IntakeSettings,
) -> PhotoRef:
    stored = await photos.save(
        photo, owner=submission.reporter.reporter_id, photo_id=photo_id(case_id, n + 1)
    )
    return stored.ref(settings.public_base_url)


def _media_ref(media_url: str) -> PhotoRef:
    digest = hashlib.sha256(media_url.encode()).hexdigest()
    return PhotoRef(photo_id=f"media-{digest[:16]}", url=media_url)


_UNFINISHED: set[asyncio.Task[None]] = set()
"""Local writes that outlasted their request's wait, kept until they finish."""


async def _after_ack(
    event: CaseReported,
    response: StoredResponse,
    keyed: KeyedRequest | None,
    attempt: str,
    *,
    cases: CaseViews,
    keys: IdempotencyKeys,
    wait_s: float,
) -> None:
    """Kafka has the report, so the answer is 201 whatever happens here: the consumer
    fills the view anyway, and a retry of an uncompleted key re-sends the same event. The
    answer waits for the local writes (so the reporter reads the case at once) at most
    `wait_s`; when the database is that slow, they finish after it."""

    async def write_locally() -> None:
        try:
            await cases.apply(event, accepted_here=True)
            if keyed is not None:
                await keys.complete(keyed.key_id, attempt, response)
        except Exception:
            log.exception("report %s is in Kafka but its local records failed", event.case_id)

    task = asyncio.create_task(write_locally())
    _UNFINISHED.add(task)
    task.add_done_callback(_UNFINISHED.discard)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(task), wait_s)


async def project_events(deliveries: list[Delivery], *, cases: CaseViews) -> None:
    """The consumer's batch handler: applies the batch's events, each case's in their
    order (one partition keeps them so), before the offsets commit; counts the events that
    were applied before (other services' events: intake's own reports are applied again
    harmlessly, and its API applies each one first anyway)."""
    again = await cases.apply_batch([delivery.event for delivery in deliveries])
    runtime_metrics.EVENTS_REDELIVERED.labels("intake").inc(again)


async def sweep_expired(*, keys: IdempotencyKeys, limits: RateLimits, clock: Clock) -> int:
    """Deletes expired Idempotency-Keys and ended rate-limit windows; how many in all."""
    now = clock()
    return await keys.sweep(now) + await limits.sweep(now)


def visible_to(case: dict[str, Any] | None, principal: Principal) -> dict[str, Any] | None:
    """The case if `principal` may see it: a volunteer their own reports, a handler their
    department's cases, supervisors and admins every case; else None (answered 404).
    A volunteer's own are cases reported by a volunteer (not an Open311 client) with
    their id."""
    if case is None:
        return None
    if principal.role == Role.VOLUNTEER and (
        case.get("reporter_kind") != VOLUNTEER or case.get("reporter_id") != principal.subject
    ):
        return None
    if principal.role == Role.HANDLER and case.get("department") != principal.department:
        return None
    return case
