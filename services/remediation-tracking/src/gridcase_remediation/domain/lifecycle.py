"""The case lifecycle as one transition table: (status, action) -> status.

The same table decides whether a handler, inspector or reporter may act now and how a
consumed event moves the case, so the API and the projection can never disagree."""

from enum import StrEnum

from gridcase_contracts.codes import REASSIGNABLE_STATUSES, CaseStatus

Status = CaseStatus | None
"""None: no event of the case has been seen yet."""


class Action(StrEnum):
    # driven by other services' events
    REPORT = "report"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    MARK_DUPLICATE = "mark_duplicate"
    SPLIT = "split"
    ESCALATE = "escalate"
    # commands of this service (each recorded as the event of the same name)
    ACCEPT = "accept"
    ORDER_RECTIFICATION = "order_rectification"
    RECORD_PROGRESS = "record_progress"
    RESOLVE = "resolve"
    VERIFY = "verify"
    REOPEN = "reopen"
    CLOSE = "close"
    REJECT = "reject"
    RETURN = "return"
    CONFIRM = "confirm"
    # the SLA timer of this service
    FLAG_OVERDUE = "flag_overdue"


NOT_FINAL: tuple[CaseStatus, ...] = (
    CaseStatus.REPORTED,
    CaseStatus.ASSIGNED,
    CaseStatus.ACCEPTED,
    CaseStatus.IN_REMEDIATION,
    CaseStatus.RESOLVED,
    CaseStatus.VERIFIED,
    CaseStatus.RETURNED,
    CaseStatus.REOPENED,
)


def _stays(*statuses: CaseStatus) -> dict[Status, CaseStatus]:
    """An action that sets a flag or records something without moving the case."""
    return {status: status for status in statuses}


TRANSITIONS: dict[Action, dict[Status, CaseStatus]] = {
    Action.REPORT: {None: CaseStatus.REPORTED},
    Action.ASSIGN: {
        CaseStatus.REPORTED: CaseStatus.ASSIGNED,
        CaseStatus.RETURNED: CaseStatus.ASSIGNED,
        CaseStatus.REOPENED: CaseStatus.REOPENED,
    },
    Action.REASSIGN: {status: CaseStatus.ASSIGNED for status in REASSIGNABLE_STATUSES},
    Action.MARK_DUPLICATE: {
        CaseStatus.REPORTED: CaseStatus.DUPLICATE,
        CaseStatus.ASSIGNED: CaseStatus.DUPLICATE,
        CaseStatus.RETURNED: CaseStatus.DUPLICATE,
    },
    Action.SPLIT: {CaseStatus.DUPLICATE: CaseStatus.REPORTED},
    Action.ESCALATE: _stays(*NOT_FINAL),
    Action.ACCEPT: {CaseStatus.ASSIGNED: CaseStatus.ACCEPTED},
    Action.ORDER_RECTIFICATION: {
        CaseStatus.ACCEPTED: CaseStatus.IN_REMEDIATION,
        CaseStatus.IN_REMEDIATION: CaseStatus.IN_REMEDIATION,
        CaseStatus.REOPENED: CaseStatus.IN_REMEDIATION,
    },
    Action.RECORD_PROGRESS: {
        CaseStatus.ACCEPTED: CaseStatus.IN_REMEDIATION,
        CaseStatus.IN_REMEDIATION: CaseStatus.IN_REMEDIATION,
        CaseStatus.REOPENED: CaseStatus.IN_REMEDIATION,
    },
    Action.RESOLVE: {
        CaseStatus.ACCEPTED: CaseStatus.RESOLVED,
        CaseStatus.IN_REMEDIATION: CaseStatus.RESOLVED,
        CaseStatus.REOPENED: CaseStatus.RESOLVED,
    },
    Action.VERIFY: {CaseStatus.RESOLVED: CaseStatus.VERIFIED},
    Action.REOPEN: {CaseStatus.RESOLVED: CaseStatus.REOPENED},
    Action.CLOSE: {CaseStatus.VERIFIED: CaseStatus.CLOSED},
    Action.REJECT: {
        CaseStatus.ASSIGNED: CaseStatus.REJECTED,
        CaseStatus.ACCEPTED: CaseStatus.REJECTED,
    },
    Action.RETURN: {
        CaseStatus.ASSIGNED: CaseStatus.RETURNED,
        CaseStatus.ACCEPTED: CaseStatus.RETURNED,
    },
    Action.CONFIRM: _stays(CaseStatus.RESOLVED, CaseStatus.VERIFIED, CaseStatus.CLOSED),
    Action.FLAG_OVERDUE: _stays(*NOT_FINAL),
}

COMMANDS: tuple[Action, ...] = (
    Action.ACCEPT,
    Action.ORDER_RECTIFICATION,
    Action.RECORD_PROGRESS,
    Action.RESOLVE,
    Action.VERIFY,
    Action.REOPEN,
    Action.CLOSE,
    Action.REJECT,
    Action.RETURN,
    Action.CONFIRM,
)
"""The actions people take through the API."""

ACTION_OF_EVENT: dict[str, Action] = {
    "CaseReported": Action.REPORT,
    "CaseAssigned": Action.ASSIGN,
    "CaseReassigned": Action.REASSIGN,
    "CaseMarkedDuplicate": Action.MARK_DUPLICATE,
    "CaseSplit": Action.SPLIT,
    "CaseEscalated": Action.ESCALATE,
    "CaseAccepted": Action.ACCEPT,
    "RectificationOrdered": Action.ORDER_RECTIFICATION,
    "ProgressRecorded": Action.RECORD_PROGRESS,
    "CaseResolved": Action.RESOLVE,
    "CaseVerified": Action.VERIFY,
    "CaseReopened": Action.REOPEN,
    "CaseClosed": Action.CLOSE,
    "CaseRejected": Action.REJECT,
    "CaseReturned": Action.RETURN,
    "CaseOverdue": Action.FLAG_OVERDUE,
    "CaseConfirmed": Action.CONFIRM,
}


def next_status(status: Status, action: Action) -> CaseStatus | None:
    """The status after `action`, or None when the table does not allow it."""
    return TRANSITIONS[action].get(status)


def allowed_commands(status: Status) -> list[Action]:
    """The API actions the table allows in `status`."""
    return [action for action in COMMANDS if status in TRANSITIONS[action]]


class ActionNotAllowedError(Exception):
    """The table does not allow `action` in `status`."""

    def __init__(self, status: Status, action: Action, *, reason: str | None = None) -> None:
        self.status = status
        self.action = action
        self.allowed = [a for a in allowed_commands(status) if reason is None or a != action]
        super().__init__(
            reason
            or f"{action.value} is not allowed in status {status.value if status else 'none'}"
        )
