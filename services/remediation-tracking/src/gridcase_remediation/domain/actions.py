"""Decisions of the API's actions: each checks the lifecycle table and the action's own
rules against the current case, and returns the event that records it."""

from datetime import datetime

from gridcase_contracts.codes import Category, Measure
from gridcase_contracts.envelope import Contract, Envelope
from gridcase_contracts.events import (
    Actor,
    CaseAccepted,
    CaseAcceptedPayload,
    CaseClosed,
    CaseClosedPayload,
    CaseConfirmed,
    CaseConfirmedPayload,
    CaseRejected,
    CaseRejectedPayload,
    CaseReopened,
    CaseReopenedPayload,
    CaseResolved,
    CaseResolvedPayload,
    CaseReturned,
    CaseReturnedPayload,
    CaseVerified,
    CaseVerifiedPayload,
    PhotoRef,
    ProgressRecorded,
    ProgressRecordedPayload,
    RectificationOrdered,
    RectificationOrderedPayload,
    new_event,
)
from gridcase_remediation.domain.case import Case
from gridcase_remediation.domain.lifecycle import Action, ActionNotAllowedError, next_status


class RuleViolationError(Exception):
    """The action is allowed in this status but its input breaks a rule (HTTP 422)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ActorNotPermittedError(Exception):
    """This person may not take this action on this case (HTTP 403)."""


def _require(case: Case, action: Action) -> None:
    if next_status(case.status, action) is None:
        raise ActionNotAllowedError(case.status, action)


class Decider:
    """Builds the event of an action taken by `by` at `now` within one request."""

    def __init__(self, case: Case, *, by: Actor, now: datetime, correlation_id: str | None):
        self.case = case
        self.by = by
        self.now = now
        self.correlation_id = correlation_id

    def _event(self, action: Action, event_class: type[Envelope], payload: Contract) -> Envelope:
        _require(self.case, action)
        return new_event(
            event_class,
            case_id=self.case.case_id,
            payload=payload,
            occurred_at=self.now,
            correlation_id=self.correlation_id,
        )

    def accept(self) -> Envelope:
        return self._event(Action.ACCEPT, CaseAccepted, CaseAcceptedPayload(by=self.by))

    def order_rectification(
        self, *, measure: Measure, deadline: datetime, responsible_party: str, note: str | None
    ) -> Envelope:
        _require(self.case, Action.ORDER_RECTIFICATION)
        if deadline <= self.now:
            raise RuleViolationError("deadline", "must lie in the future")
        payload = RectificationOrderedPayload(
            measure=measure,
            deadline=deadline,
            responsible_party=responsible_party,
            note=note,
            by=self.by,
        )
        return self._event(Action.ORDER_RECTIFICATION, RectificationOrdered, payload)

    def record_progress(self, *, note: str, photos: list[PhotoRef]) -> Envelope:
        payload = ProgressRecordedPayload(note=note, photos=photos, by=self.by)
        return self._event(Action.RECORD_PROGRESS, ProgressRecorded, payload)

    def resolve(self, *, note: str, photos: list[PhotoRef]) -> Envelope:
        _require(self.case, Action.RESOLVE)
        if not photos and self.case.category != Category.PUBLIC_SERVICE_OBSTRUCTION:
            raise RuleViolationError(
                "photos", "at least one photo of the fix is required for this category"
            )
        payload = CaseResolvedPayload(note=note, photos=photos, by=self.by)
        return self._event(Action.RESOLVE, CaseResolved, payload)

    def verify(self, *, passed: bool, reason: str | None) -> Envelope:
        """Pass -> CaseVerified; fail -> CaseReopened. The resolver may not verify."""
        _require(self.case, Action.VERIFY if passed else Action.REOPEN)
        if self.case.resolved_by == self.by.actor_id:
            raise ActorNotPermittedError("the resolver of a case may not verify it")
        if passed:
            return self._event(
                Action.VERIFY, CaseVerified, CaseVerifiedPayload(reason=reason, by=self.by)
            )
        if not reason:
            raise RuleViolationError("reason", "a failed verification needs a reason")
        return self._event(
            Action.REOPEN, CaseReopened, CaseReopenedPayload(reason=reason, by=self.by)
        )

    def close(self, *, note: str | None) -> Envelope:
        return self._event(Action.CLOSE, CaseClosed, CaseClosedPayload(note=note, by=self.by))

    def reject(self, *, reason: str) -> Envelope:
        return self._event(
            Action.REJECT, CaseRejected, CaseRejectedPayload(reason=reason, by=self.by)
        )

    def return_case(self, *, reason: str) -> Envelope:
        _require(self.case, Action.RETURN)
        department = self.case.department or self.by.department
        if department is None:
            raise RuleViolationError("department", "the case has no department to return from")
        payload = CaseReturnedPayload(department=department, reason=reason, by=self.by)
        return self._event(Action.RETURN, CaseReturned, payload)

    def confirm(self, *, satisfied: bool, rating: int | None, comment: str | None) -> Envelope:
        """The reporting volunteer's verdict, once per case."""
        _require(self.case, Action.CONFIRM)
        if self.by.actor_id != self.case.reporter_id:
            raise ActorNotPermittedError("only the reporting volunteer may confirm the fix")
        if self.case.satisfaction is not None:
            raise ActionNotAllowedError(
                self.case.status, Action.CONFIRM, reason="the fix was already confirmed"
            )
        payload = CaseConfirmedPayload(
            satisfied=satisfied, rating=rating, comment=comment, by=self.by
        )
        return self._event(Action.CONFIRM, CaseConfirmed, payload)
