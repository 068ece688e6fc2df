"""What every service's process repeats: the parts its bootstrap.py builds are prepared,
run and closed by the app's lifespan and reach the routes through one dependency; its
case-events publisher and consumer are made from its settings."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI, Request

from gridcase_contracts.codes import Service
from gridcase_runtime.app import create_service_app
from gridcase_runtime.health import ReadinessCheck
from gridcase_runtime.kafka_consumer import BatchHandler, EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.problems import DomainErrors, OtherFormat
from gridcase_runtime.settings import ServiceSettings
from gridcase_runtime.workers import Worker, running


class Components(Protocol):
    """What a service's bootstrap builds: its adapters, handlers' dependencies and workers."""

    async def prepare(self) -> None:
        """Makes what must exist before the first request: topics, indexes, seed data."""
        ...

    def workers(self) -> list[Worker]:
        """The loops that run beside the API: consumers, relays, timers."""
        ...

    def readiness_checks(self) -> dict[str, ReadinessCheck]: ...

    async def close(self) -> None: ...


def service_app(
    components: Components,
    *,
    service: str,
    settings: ServiceSettings,
    title: str,
    description: str,
    domain_errors: DomainErrors | None = None,
    other_error_formats: Mapping[str, OtherFormat] | None = None,
    retry_after_s: float = 5,
) -> FastAPI:
    """The service's app (see `create_service_app`) over `components`: its lifespan
    prepares them, runs their workers and closes them; routes reach them through
    `components_of`."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await components.prepare()
        try:
            async with running(components.workers()):
                yield
        finally:
            await components.close()

    app = create_service_app(
        service=service,
        settings=settings,
        lifespan=lifespan,
        title=title,
        description=description,
        readiness_checks=components.readiness_checks(),
        domain_errors=domain_errors,
        other_error_formats=other_error_formats,
        retry_after_s=retry_after_s,
    )
    app.state.components = components
    return app


def components_of(request: Request) -> Any:
    """The FastAPI dependency every route takes its service's components from (each
    service annotates it with its own `Components` type)."""
    return request.app.state.components


def case_events_publisher(
    settings: ServiceSettings, service: Service, *, ack_timeout_s: float = 10.0
) -> EventPublisher:
    """The publisher of `service`'s case events, signed with its key."""
    return EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service=service.value,
        signer=settings.signing_key(service),
        ack_timeout_s=ack_timeout_s,
    )


def case_events_consumer(
    settings: ServiceSettings,
    service: Service,
    handle_batch: BatchHandler,
    dead_letters: EventPublisher,
) -> EventConsumer:
    """The consumer of the case events in the service's group; what cannot be handled goes
    to the dead-letter topic through `dead_letters`."""
    return EventConsumer(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        settings.dlq_topic,
        group_id=settings.group_id,
        service=service.value,
        handle_batch=handle_batch,
        dead_letters=dead_letters,
        verifier=settings.verifier(),
    )
