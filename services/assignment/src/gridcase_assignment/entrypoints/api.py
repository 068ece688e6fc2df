"""The assignment service process: HTTP API, consumer, outbox relay and escalation timer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from gridcase_assignment.adapters.repository import ConcurrentChangeError
from gridcase_assignment.bootstrap import SERVICE, bootstrap
from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.entrypoints import admin, supervisor
from gridcase_assignment.handlers import ConflictError, InvalidRequestError, NotFoundError
from gridcase_runtime.app import create_service_app, serve
from gridcase_runtime.health import kafka_reachable
from gridcase_runtime.kafka import ensure_case_topics
from gridcase_runtime.mongo import ping
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
    )
    app.state.service = service
    app.state.context = service.context
    app.include_router(admin.router)
    app.include_router(supervisor.router)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidRequestError)
    async def invalid(_request: Request, error: InvalidRequestError) -> JSONResponse:
        return JSONResponse(
            {"detail": [{"loc": ["body", error.field], "msg": error.reason, "type": "invalid"}]},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, error: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ConflictError)
    async def conflict(_request: Request, error: ConflictError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(error), "status": error.status}, status_code=status.HTTP_409_CONFLICT
        )

    @app.exception_handler(ConcurrentChangeError)
    async def concurrent(_request: Request, error: ConcurrentChangeError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"{error} was changed at the same time; read it again and retry"},
            status_code=status.HTTP_409_CONFLICT,
        )


def main() -> None:
    settings = AssignmentSettings()
    serve(create_app(settings), settings, SERVICE)
