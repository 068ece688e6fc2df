"""The assignment service process: HTTP API, consumer, outbox relay and escalation timer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from gridcase_assignment.bootstrap import SERVICE, bootstrap
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.entrypoints import admin, supervisor
from gridcase_assignment.handlers import ConflictError, InvalidRequestError, NotFoundError
from gridcase_assignment.ports import ConcurrentChangeError
from gridcase_runtime.app import create_service_app, serve
from gridcase_runtime.health import kafka_reachable
from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_runtime.mongo import ping
from gridcase_runtime.problems import DomainErrors, Problem, problem, validation_problem
from gridcase_runtime.workers import running


def create_app(settings: AssignmentSettings) -> FastAPI:
    service = bootstrap(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ensure_case_topics(settings)
        await service.prepare()
        try:
            async with running(service.workers()):
                yield
        finally:
            service.close()

    async def mongo_answers() -> None:
        await ping(service.database)

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        lifespan=lifespan,
        title="gridcase assignment",
        description=(
            "Routes each reported case to its department and handler with SLA deadlines, "
            "merges duplicates, reroutes returns and escalates overdue stages."
        ),
        readiness_checks={
            "kafka": kafka_reachable(settings.kafka_bootstrap_servers),
            "mongodb": mongo_answers,
        },
        domain_errors=DOMAIN_ERRORS,
    )
    app.state.service = service
    app.state.context = service.context
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
