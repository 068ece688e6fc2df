"""Prometheus metrics shared by every service, the HTTP middleware and the /metrics route."""

import threading
import time
from collections import deque

from fastapi import APIRouter, Request, Response
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
EVENTS_REDELIVERED = Counter(
    "gridcase_events_redelivered_total",
    "Consumed events of another service that this one had applied already (delivered "
    "again after a crash or a rebalance), skipped by their event_id.",
    ["service"],
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

AUTHORIZATION_FAILURES = Counter(
    "gridcase_authorization_failures_total",
    "Requests refused for who made them: missing_credentials or invalid_credentials (401), "
    "forbidden (403), not_visible (a case the caller may not see, answered 404).",
    ["service", "route", "reason"],
)

END_TO_END_SAMPLE_CAPACITY = 50_000


class EndToEndSamples:
    """The latest end-to-end latencies of this process, exactly (the histogram above keeps
    them only in buckets): what a benchmark needs for p99.9."""

    def __init__(self, capacity: int = END_TO_END_SAMPLE_CAPACITY) -> None:
        self._samples: deque[tuple[int, int]] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, ingest_ns: int, latency_ns: int) -> None:
        with self._lock:
            self._samples.append((ingest_ns, latency_ns // 1000))

    def accepted_since(self, since_ns: int) -> list[int]:
        """Latencies (µs) of the events intake accepted at or after `since_ns`."""
        with self._lock:
            return [latency for ingest, latency in self._samples if ingest >= since_ns]


END_TO_END_SAMPLES = EndToEndSamples()


def observe_end_to_end(service: str, ingest_ns: int, done_ns: int) -> None:
    """Records that an event accepted by intake at `ingest_ns` was durably handled now."""
    latency_ns = max(0, done_ns - ingest_ns)
    END_TO_END_LATENCY.labels(service).observe(latency_ns / 1e9)
    END_TO_END_SAMPLES.record(ingest_ns, latency_ns)


metrics_router = APIRouter(tags=["operations"])


@metrics_router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@metrics_router.get("/metrics/end-to-end", include_in_schema=False)
def end_to_end(since_ns: int = 0) -> dict[str, object]:
    """Exact end-to-end latencies (µs) of the latest events accepted since `since_ns`
    (nanoseconds since the epoch), at most END_TO_END_SAMPLE_CAPACITY of them."""
    return {
        "since_ns": since_ns,
        "capacity": END_TO_END_SAMPLE_CAPACITY,
        "latencies_us": END_TO_END_SAMPLES.accepted_since(since_ns),
    }


def _route(scope: Scope) -> str:
    return getattr(scope.get("route"), "path", None) or "unmatched"


def authorization_failed(request: Request, reason: str) -> None:
    """Counts a refusal the status alone does not show (`not_visible`, answered 404)."""
    service: str = request.app.state.service
    AUTHORIZATION_FAILURES.labels(service, _route(request.scope), reason).inc()


def _refusal(status_code: int, headers: list[tuple[bytes, bytes]]) -> str | None:
    """The authorization failure an answer's status and headers tell of, if any."""
    if status_code == 403:
        return "forbidden"
    if status_code != 401:
        return None
    challenge = dict(headers).get(b"www-authenticate", b"")
    return "invalid_credentials" if b"invalid_token" in challenge else "missing_credentials"


class HttpMetricsMiddleware:
    """Counts requests and times them per route template (not per raw path), and counts
    the 401 and 403 answers as authorization failures."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500
        headers: list[tuple[bytes, bytes]] = []

        async def send_with_status(message: Message) -> None:
            nonlocal status_code, headers
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = _route(scope)
            refusal = _refusal(status_code, headers)
            if refusal is not None:
                AUTHORIZATION_FAILURES.labels(self.service, template, refusal).inc()
            if template != "/metrics":
                method = scope["method"]
                HTTP_LATENCY.labels(self.service, method, template).observe(
                    time.perf_counter() - started
                )
                HTTP_REQUESTS.labels(self.service, method, template, str(status_code)).inc()
