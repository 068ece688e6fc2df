"""The intake FastAPI app: native API, Open311, operations routes, consumer beside it."""

from fastapi import FastAPI, Request
from pydantic import ValidationError

from gridcase_intake.bootstrap import bootstrap
from gridcase_intake.commands import Intake
from gridcase_intake.config import JSON_BODY_LIMIT, SERVICE, IntakeSettings
from gridcase_intake.domain.rate_limit import retry_after_header
from gridcase_intake.domain.reports import ReportRejectedError
from gridcase_intake.entrypoints import api_keys, native, open311
from gridcase_intake.handlers import (
    IdempotencyConflictError,
    IdempotencyMismatchError,
    KafkaUnavailableError,
    OverloadedError,
    RateLimitedError,
)
from gridcase_runtime.app import serve
from gridcase_runtime.limits import BodySizeLimitMiddleware
from gridcase_runtime.problems import DomainErrors, Problem, problem, validation_problem
from gridcase_runtime.service import service_app


def _rate_limited(request: Request, error: RateLimitedError) -> Problem:
    settings: IntakeSettings = request.app.state.settings
    document = problem(429, f"at most {settings.reports_per_minute} reports a minute")
    return Problem(document, {"Retry-After": retry_after_header(error.wait_s)})


def _report_rejected(_request: Request, error: ReportRejectedError) -> Problem:
    rejected = {"loc": ["body", *error.loc], "msg": error.message, "type": error.kind}
    return Problem(validation_problem(422, [rejected]))


def _invalid(_request: Request, error: ValidationError) -> Problem:
    errors = error.errors(include_url=False, include_input=False)
    return Problem(validation_problem(422, [{**e, "loc": ["body", *e["loc"]]} for e in errors]))


def _in_flight(_request: Request, error: IdempotencyConflictError) -> Problem:
    return Problem(problem(409, str(error)))


def _key_reused(_request: Request, error: IdempotencyMismatchError) -> Problem:
    reused = {"loc": ["header", "Idempotency-Key"], "msg": str(error), "type": "reused"}
    return Problem(validation_problem(422, [reused]))


def _unavailable(request: Request, _error: KafkaUnavailableError | OverloadedError) -> Problem:
    settings: IntakeSettings = request.app.state.settings
    detail = "the report could not be stored right now; nothing was accepted, retry later"
    return Problem(problem(503, detail), {"Retry-After": str(settings.retry_after_s)})


DOMAIN_ERRORS: DomainErrors = {
    RateLimitedError: _rate_limited,
    ReportRejectedError: _report_rejected,
    ValidationError: _invalid,
    IdempotencyConflictError: _in_flight,
    IdempotencyMismatchError: _key_reused,
    KafkaUnavailableError: _unavailable,
    OverloadedError: _unavailable,
}
"""How the native API answers a refused submission (Open311 answers in its own format)."""


def create_app(settings: IntakeSettings | None = None, *, intake: Intake | None = None) -> FastAPI:
    """The app, on `intake`'s adapters when given; connections are made on first use, never
    at import or construction."""
    settings = settings or IntakeSettings()
    app = service_app(
        bootstrap(settings, intake),
        service=SERVICE,
        settings=settings,
        title="gridcase intake",
        description="Volunteers' reports (native API and Open311 GeoReport v2) become cases; "
        "201 means Kafka has the CaseReported event.",
        domain_errors=DOMAIN_ERRORS,
        other_error_formats={open311.router.prefix: open311.error_for},
        retry_after_s=settings.retry_after_s,
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        json_limit=JSON_BODY_LIMIT,
        multipart_limit=settings.multipart_body_limit,
    )
    app.include_router(native.router)
    app.include_router(open311.router)
    app.include_router(api_keys.router)
    return app


def main() -> None:
    settings = IntakeSettings()
    serve(create_app(settings), settings, SERVICE)


if __name__ == "__main__":
    main()
