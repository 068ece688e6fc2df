"""Builds a service's FastAPI app with the shared middleware and routes, and serves it."""

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import pymongo.errors
import uvicorn
from fastapi import FastAPI, Request, status

from gridcase_runtime.docs import add_offline_docs
from gridcase_runtime.health import ReadinessCheck, health_router
from gridcase_runtime.kafka_producer import PublishError
from gridcase_runtime.logs import CorrelationIdMiddleware, configure_logging
from gridcase_runtime.metrics import HttpMetricsMiddleware, metrics_router
from gridcase_runtime.outages import TRANSIENT_ERRORS, is_transient
from gridcase_runtime.problems import (
    PROBLEM_JSON,
    DomainErrors,
    OtherFormat,
    Problem,
    install_problem_handlers,
    problem,
)
from gridcase_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    *,
    service: str,
    settings: ServiceSettings,
    lifespan: Lifespan,
    title: str,
    description: str,
    readiness_checks: dict[str, ReadinessCheck],
    domain_errors: DomainErrors | None = None,
    other_error_formats: Mapping[str, OtherFormat] | None = None,
    retry_after_s: float = 5,
) -> FastAPI:
    """An app with /healthz, /readyz, /metrics, /docs (assets served locally), correlation
    ids, HTTP metrics, and every error answered as a problem (see `problems`): a database
    or broker that is unavailable is a 503 with Retry-After `retry_after_s`."""
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.readiness_checks = readiness_checks
    app.include_router(health_router)
    app.include_router(metrics_router)
    add_offline_docs(app)
    outage = _outage_problem(retry_after_s)
    outages: DomainErrors = {
        error_class: outage
        for error_class in (*TRANSIENT_ERRORS, PublishError, pymongo.errors.OperationFailure)
    }
    install_problem_handlers(
        app, {**outages, **(domain_errors or {})}, other_formats=other_error_formats
    )
    app.add_middleware(HttpMetricsMiddleware, service=service)
    app.add_middleware(CorrelationIdMiddleware)
    _document_errors(app, list(other_error_formats or {}))
    return app


def _outage_problem(retry_after_s: float) -> Callable[[Request, Any], Problem]:
    """503 with Retry-After for an unavailable database or broker; any other database
    error stays a 500 (its text is logged, never answered)."""

    def build(request: Request, error: Exception) -> Problem:
        if is_transient(error) or isinstance(error, PublishError):
            log.warning(
                "%s %s: a backing service is unavailable: %r",
                request.method,
                request.url.path,
                error,
            )
            return Problem(
                problem(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    "a backing service is unavailable; try again later",
                    code="unavailable",
                ),
                headers={"Retry-After": str(max(1, round(retry_after_s)))},
            )
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return Problem(problem(status.HTTP_500_INTERNAL_SERVER_ERROR))

    return build


AUTH_ERRORS = {
    "401": {"description": "The bearer token is missing, invalid or expired."},
    "403": {"description": "The caller's role may not do this."},
}
BODY_ERRORS = {"400": {"description": "The body cannot be parsed (not UTF-8, broken multipart)."}}
OUTAGE_ERRORS = {"503": {"description": "A database or broker is unavailable; see Retry-After."}}

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
    },
    "ValidationProblem": {
        "allOf": [{"$ref": "#/components/schemas/Problem"}],
        "required": ["errors"],
        "properties": {
            "field": {"type": ["string", "null"]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["loc", "field", "msg", "type"],
                    "properties": {
                        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "field": {"type": ["string", "null"]},
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                    },
                },
            },
        },
    },
}


def _problem_content(code: str) -> dict[str, Any]:
    schema = "ValidationProblem" if code == "422" else "Problem"
    return {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _document_errors(app: FastAPI, other_formats: Sequence[str]) -> None:
    """The document tells every error as it is answered: a problem (`application/problem
    +json`) unless the route declares its own content or lies under the `other_formats`
    path prefixes; and lists the answers every
    operation may give besides its own: 401 and 403 behind a bearer token, 400 for a body
    that cannot be parsed, 503 during an outage."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            document.setdefault("components", {}).setdefault("schemas", {}).update(PROBLEM_SCHEMAS)
            for path, operations in document["paths"].items():
                for operation in operations.values():
                    responses = operation["responses"]
                    shared = {
                        **OUTAGE_ERRORS,
                        **(AUTH_ERRORS if "security" in operation else {}),
                        **(BODY_ERRORS if "requestBody" in operation else {}),
                    }
                    for code, answer in shared.items():
                        responses.setdefault(code, dict(answer))
                    if path.startswith(tuple(other_formats)):
                        continue
                    for code, answer in responses.items():
                        declared = "content" in answer and code != "422"
                        if code.startswith(("4", "5")) and not declared:
                            answer["content"] = _problem_content(code)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


IDLE_CONNECTION_S = 75
"""How long an idle keep-alive connection stays open (nginx's keepalive_timeout). Longer
than clients keep idle connections in their pools (httpx: 5 s): a server that closes at
the same moment races the client's next request, which then meets a reset connection."""


def server_config(app: FastAPI, settings: ServiceSettings) -> uvicorn.Config:
    """The uvicorn configuration every service runs with."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=IDLE_CONNECTION_S,
        timeout_graceful_shutdown=20,
        lifespan="on",
    )


def serve(app: FastAPI, settings: ServiceSettings, service: str) -> None:
    """Runs the app in one uvicorn worker; SIGTERM and Ctrl-C shut it down gracefully."""
    configure_logging(service, settings.log_level)
    uvicorn.Server(server_config(app, settings)).run()
