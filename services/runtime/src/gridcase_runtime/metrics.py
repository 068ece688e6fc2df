"""Prometheus metrics shared by every service, the HTTP middleware and the /metrics route."""

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "gridcase_http_requests_total",
    "HTTP requests answered.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "gridcase_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "gridcase_events_published_total",
    "Case events acknowledged by Kafka.",
    ["service", "event_type"],
)
PUBLISH_LATENCY = Histogram(
    "gridcase_publish_duration_seconds",
    "Time from send to Kafka acknowledgement.",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
PUBLISH_FAILURES = Counter(
    "gridcase_publish_failures_total",
    "Sends that Kafka did not acknowledge in time.",
    ["service"],
)
EVENTS_CONSUMED = Counter(
    "gridcase_events_consumed_total",
    "Case events processed by a consumer.",
    ["service", "event_type"],
)
PROCESSING_LATENCY = Histogram(
    "gridcase_event_batch_duration_seconds",
    "Time to process one polled batch of events.",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
END_TO_END_LATENCY = Histogram(
    "gridcase_event_end_to_end_seconds",
    "From intake's accept (ingest header) to this consumer's durable write.",
    ["service"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "gridcase_consumer_lag",
    "Records behind the end of each partition.",
    ["service", "topic", "partition"],
)
DLQ_RECORDS = Counter(
    "gridcase_dlq_records_total",
    "Records sent to the dead-letter topic.",
    ["service", "reason"],
)
PROCESSING_RETRIES = Counter(
    "gridcase_processing_retries_total",
    "Batches retried after a transient error.",
    ["service"],
)

metrics_router = APIRouter(tags=["operations"])


@metrics_router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class HttpMetricsMiddleware:
    """Counts requests and times them per route template (not per raw path)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if template != "/metrics":
                method = scope["method"]
                HTTP_LATENCY.labels(self.service, method, template).observe(
                    time.perf_counter() - started
                )
                HTTP_REQUESTS.labels(self.service, method, template, str(status_code)).inc()
