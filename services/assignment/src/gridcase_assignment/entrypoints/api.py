"""The assignment service process: HTTP API, consumer, outbox relay and escalation timer."""

from fastapi import FastAPI, Request

from gridcase_assignment.bootstrap import bootstrap
from gridcase_assignment.config import SERVICE, AssignmentSettings
from gridcase_assignment.entrypoints import admin, supervisor
from gridcase_assignment.handlers import ConflictError, InvalidRequestError, NotFoundError
from gridcase_assignment.ports import ConcurrentChangeError
from gridcase_runtime.app import serve
from gridcase_runtime.problems import DomainErrors, Problem, problem, validation_problem
from gridcase_runtime.service import service_app


def create_app(settings: AssignmentSettings) -> FastAPI:
    app = service_app(
        bootstrap(settings),
        service=SERVICE,
        settings=settings,
        title="gridcase assignment",
        description=(
            "Routes each reported case to its department and handler with SLA deadlines, "
            "merges duplicates, reroutes returns and escalates overdue stages."
        ),
        domain_errors=DOMAIN_ERRORS,
    )
    app.include_router(admin.router)
    app.include_router(supervisor.router)
    return app


def _invalid(_request: Request, error: InvalidRequestError) -> Problem:
    return Problem(validation_problem(422, [{"loc": ["body", error.field], "msg": error.reason}]))


def _status_conflict(_request: Request, error: ConflictError) -> Problem:
    return Problem(problem(409, str(error), code="conflict", case_status=error.status))


def _concurrent(_request: Request, error: ConcurrentChangeError) -> Problem:
    detail = f"{error} was changed at the same time; read it again and retry"
    return Problem(problem(409, detail, code="concurrent-change"))


DOMAIN_ERRORS: DomainErrors = {
    InvalidRequestError: _invalid,
    NotFoundError: 404,
    ConflictError: _status_conflict,
    ConcurrentChangeError: _concurrent,
}


def main() -> None:
    settings = AssignmentSettings()
    serve(create_app(settings), settings, SERVICE)
