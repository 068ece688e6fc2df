"""Builds a service's FastAPI app with the shared middleware and routes, and serves it."""

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

import uvicorn
from fastapi import FastAPI

from gridcase_runtime.docs import add_offline_docs
from gridcase_runtime.health import ReadinessCheck, health_router
from gridcase_runtime.logs import CorrelationIdMiddleware, configure_logging
from gridcase_runtime.metrics import HttpMetricsMiddleware, metrics_router
from gridcase_runtime.problems import DomainErrors, OtherFormat, install_problem_handlers
from gridcase_runtime.settings import ServiceSettings

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
) -> FastAPI:
    """An app with /healthz, /readyz, /metrics, /docs (assets served locally), correlation
    ids, HTTP metrics, and every error answered as a problem (see `problems`)."""
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
    install_problem_handlers(app, domain_errors, other_formats=other_error_formats)
    app.add_middleware(HttpMetricsMiddleware, service=service)
    app.add_middleware(CorrelationIdMiddleware)
    return app


def serve(app: FastAPI, settings: ServiceSettings, service: str) -> None:
    """Runs the app in one uvicorn worker; SIGTERM and Ctrl-C shut it down gracefully."""
    configure_logging(service, settings.log_level)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        lifespan="on",
    )
