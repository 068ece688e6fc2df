"""The intake FastAPI app: native API, Open311, operations routes, consumer beside it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from gridcase_contracts.codes import Service
from gridcase_intake.bootstrap import bootstrap, create_indexes
from gridcase_intake.config import JSON_BODY_LIMIT, IntakeSettings
from gridcase_intake.domain.reports import ReportIn
from gridcase_intake.entrypoints import api_keys, native, open311
from gridcase_intake.entrypoints.consumer import workers
from gridcase_runtime.app import create_service_app, serve
from gridcase_runtime.health import kafka_reachable
from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.limits import BodySizeLimitMiddleware
from gridcase_runtime.mongo import close, connect, ping
from gridcase_runtime.workers import running

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """The app; connections are made by its lifespan, never at import or construction."""
    settings = settings or IntakeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = connect(settings.mongodb_url, settings.mongodb_database)
        app.state.database = database
        await ensure_case_topics(settings)
        await create_indexes(database)
        publisher = EventPublisher(
            settings.kafka_bootstrap_servers,
            settings.case_events_topic,
            service=SERVICE,
            signer=settings.signing_key(Service.INTAKE),
            ack_timeout_s=settings.publish_timeout_s,
        )
        app.state.publisher = publisher
        intake = bootstrap(settings, database, publisher)
        app.state.intake = intake
        try:
            async with running(workers(intake, publisher)):
                yield
        finally:
            await asyncio.to_thread(publisher.close)
            close(database)

    async def mongo_reachable() -> None:
        await ping(app.state.database)

    async def publisher_ready() -> None:
        await app.state.publisher.check_ready()

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        lifespan=lifespan,
        title="gridcase intake",
        description="Volunteers' reports (native API and Open311 GeoReport v2) become cases; "
        "201 means Kafka has the CaseReported event.",
        readiness_checks={
            "kafka": kafka_reachable(settings.kafka_bootstrap_servers),
            "kafka-producer": publisher_ready,
            "mongodb": mongo_reachable,
        },
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
    shared = app.openapi
    app.openapi = lambda: _with_report_schema(shared())  # type: ignore[method-assign]
    return app


def _with_report_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The service's document plus the ReportIn schema that /v1/reports takes by hand."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "ReportIn" not in schemas:
        report_schema = ReportIn.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(report_schema.pop("$defs", {}))
        schemas["ReportIn"] = report_schema
    return document


def main() -> None:
    settings = IntakeSettings()
    serve(create_app(settings), settings, SERVICE)


if __name__ == "__main__":
    main()
