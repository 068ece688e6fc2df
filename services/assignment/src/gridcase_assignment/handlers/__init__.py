"""One function per event and command, by area: `events` (the consumed case events),
`timer` (the escalation ladder's clock), `supervisor` and `admin` (the API's commands),
with `routing` and `context` beneath them. Dependencies come in as `Context`."""

from gridcase_assignment.handlers.admin import (
    put_catalogue_entry,
    put_department,
    put_handler,
    remove_catalogue_entry,
    set_on_duty,
)
from gridcase_assignment.handlers.context import (
    ConflictError,
    ContendedError,
    Context,
    InvalidRequestError,
    NotFoundError,
)
from gridcase_assignment.handlers.events import case_reported, handle_batch
from gridcase_assignment.handlers.supervisor import reassign_case, split_case
from gridcase_assignment.handlers.timer import (
    escalate_due_ladders,
    refresh_supervisor_queue_size,
    scan_ladders,
)

__all__ = [
    "ConflictError",
    "ContendedError",
    "Context",
    "InvalidRequestError",
    "NotFoundError",
    "case_reported",
    "escalate_due_ladders",
    "handle_batch",
    "put_catalogue_entry",
    "put_department",
    "put_handler",
    "reassign_case",
    "refresh_supervisor_queue_size",
    "remove_catalogue_entry",
    "scan_ladders",
    "set_on_duty",
    "split_case",
]
