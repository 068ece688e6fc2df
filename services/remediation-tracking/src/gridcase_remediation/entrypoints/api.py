"""The remediation-tracking app: its routers by area, its domain errors as problems, the
workers beside it."""

from fastapi import FastAPI, Request

from gridcase_remediation.bootstrap import WORKERS, build
from gridcase_remediation.config import SERVICE, RemediationSettings
from gridcase_remediation.domain.actions import (
    ActorNotPermittedError,
    RuleViolationError,
)
from gridcase_remediation.domain.lifecycle import ActionNotAllowedError
from gridcase_remediation.entrypoints import actions, admin, audit, cases, photos
from gridcase_remediation.entrypoints.dependencies import etag
from gridcase_remediation.handlers import (
    CaseHiddenError,
    CaseNotFoundError,
    VersionConflictError,
    VersionRequiredError,
)
from gridcase_runtime.limits import BodySizeLimitMiddleware
from gridcase_runtime.metrics import authorization_failed
from gridcase_runtime.problems import DomainErrors, Problem, problem, validation_problem
from gridcase_runtime.service import service_app


def _case_not_found(request: Request, error: CaseNotFoundError) -> Problem:
    """A hidden case is answered as a missing one, and counted as a refusal."""
    if isinstance(error, CaseHiddenError):
        authorization_failed(request, "not_visible")
    return Problem(problem(404, f"no case {error}", code="not-found"))


def _version_required(_request: Request, _error: VersionRequiredError) -> Problem:
    detail = 'send If-Match: "<version>" (the ETag of GET) or expected_version'
    return Problem(problem(428, detail, code="version-required"))


def _version_conflict(_request: Request, error: VersionConflictError) -> Problem:
    document = problem(
        412 if error.precondition else 409,
        "the case changed since you read it; read it again",
        code="version-conflict",
        current_version=error.current,
    )
    return Problem(document, {"ETag": etag(error.current)})


def _action_not_allowed(_request: Request, error: ActionNotAllowedError) -> Problem:
    document = problem(
        409,
        str(error),
        code="action-not-allowed",
        case_status=error.status,
        action=error.action,
        allowed_actions=error.allowed,
    )
    return Problem(document)


def _rule_violated(_request: Request, error: RuleViolationError) -> Problem:
    violation = {"loc": ["body", error.field], "msg": error.reason, "type": "rule_violated"}
    return Problem(validation_problem(422, [violation]))


DOMAIN_ERRORS: DomainErrors = {
    CaseNotFoundError: _case_not_found,
    ActorNotPermittedError: 403,
    VersionRequiredError: _version_required,
    VersionConflictError: _version_conflict,
    ActionNotAllowedError: _action_not_allowed,
    RuleViolationError: _rule_violated,
}


def create_app(
    settings: RemediationSettings | None = None, *, workers: tuple[str, ...] = WORKERS
) -> FastAPI:
    """The service app; `workers` picks the background loops that run beside it."""
    settings = settings or RemediationSettings()
    app = service_app(
        build(settings, workers=workers),
        service=SERVICE,
        settings=settings,
        title="gridcase remediation-tracking",
        description=(
            "The case state machine, handler, inspector and reporter actions, the full "
            "case history and SLA timers."
        ),
        domain_errors=DOMAIN_ERRORS,
    )
    for area in (cases, actions, audit, photos, admin):
        app.include_router(area.router)
    app.add_middleware(
        BodySizeLimitMiddleware,
        json_limit=settings.json_body_limit,
        multipart_limit=settings.multipart_body_limit,
    )
    return app
