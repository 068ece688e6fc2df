"""The access trail: who read a case's personal data, exported cases or figures, or
downloaded a photo, and when.

Each access is one JSON line on the `gridcase.access` logger (stderr, with the request's
correlation id), not a database write: the log pipeline ships it to append-only storage
that the service itself can neither rewrite nor delete, it costs a read no write on the
database, and it is kept by the log store's retention rules. Refused attempts are counted
in `gridcase_authorization_failures_total` (see `metrics`)."""

import logging

from fastapi import Request

from gridcase_runtime.auth import Principal

access_log = logging.getLogger("gridcase.access")
access_log.setLevel(logging.INFO)
"""Kept whatever GRIDCASE_LOG_LEVEL says: the trail is not a debugging aid."""


def record_access(
    request: Request,
    principal: Principal,
    action: str,
    *,
    case_id: str | None = None,
    resource: str | None = None,
    count: int | None = None,
) -> None:
    """Logs that `principal` did `action` (e.g. "case.read", "cases.export",
    "photo.download") on a case, a resource or `count` records."""
    route = getattr(request.scope.get("route"), "path", request.url.path)
    access: dict[str, object] = {
        "action": action,
        "subject": principal.subject,
        "role": principal.role.value,
        "route": route,
    }
    details = {
        "department": principal.department,
        "case_id": case_id,
        "resource": resource,
        "count": count,
        "client": request.client.host if request.client else None,
    }
    access.update({key: value for key, value in details.items() if value is not None})
    access_log.info("%s by %s", action, principal.subject, extra={"access": access})
