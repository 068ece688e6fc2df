"""Open311 GeoReport v2 under /open311/v2, in JSON and XML, errors in the spec's shape."""

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from starlette.datastructures import UploadFile

from gridcase_contracts.codes import FINAL_STATUSES, CaseStatus, Channel
from gridcase_contracts.events import CaseReported, Reporter
from gridcase_intake import metrics
from gridcase_intake.commands import Intake
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain import open311
from gridcase_intake.domain.idempotency import StoredResponse
from gridcase_intake.domain.open311 import Open311Error
from gridcase_intake.domain.rate_limit import retry_after_header
from gridcase_intake.domain.reports import LocationConflictError, ReportRejectedError
from gridcase_intake.entrypoints.dependencies import IntakeDep
from gridcase_intake.entrypoints.native import (
    IdempotencyKeyHeader,
    keyed_request,
    stored_as_response,
)
from gridcase_intake.handlers import (
    IdempotencyConflictError,
    IdempotencyMismatchError,
    KafkaUnavailableError,
    KeyedRequest,
    OverloadedError,
    RateLimitedError,
    Render,
    Submission,
)
from gridcase_runtime.logs import correlation_id

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a parameter is missing or malformed (the specification's error list)"},
    403: {"description": "api_key missing or not valid"},
    404: {"description": "unknown format, jurisdiction, service, request or token"},
}
SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "a request with the same Idempotency-Key is in flight"},
    413: {"description": "body larger than the form limit"},
    422: {"description": "Idempotency-Key reused with another payload (the error list)"},
    429: {"description": "too many requests from this api_key; see Retry-After"},
    503: {"description": "Kafka unavailable, nothing accepted; see Retry-After"},
}

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=ERRORS)

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
OPEN_STATUSES = [s.value for s in CaseStatus if s not in FINAL_STATUSES]
CLOSED_STATUSES = [s.value for s in FINAL_STATUSES]

Document = list[dict[str, Any]] | dict[str, Any]
Jurisdiction = Annotated[str | None, Query(description="optional; this server has one")]
EXTENSIONS = "extension: true adds the detailed status (and notes, see api_key)"
READER_KEY = "optional: with extensions=true, the notes of the requests this client filed"


def render(fmt: str, root: str, document: Document, status_code: int = 200) -> StoredResponse:
    if fmt == "xml":
        body = open311.to_xml(root, document).decode()
    else:
        body = orjson.dumps(document).decode()
    return StoredResponse(status_code, FORMATS[fmt], body)


def _error(fmt: str, error: Open311Error, headers: dict[str, str] | None = None) -> Response:
    stored = render(
        fmt if fmt in FORMATS else "json",
        "errors",
        open311.errors(error.status_code, error.description),
        error.status_code,
    )
    return Response(stored.body, stored.status_code, headers=headers, media_type=stored.media_type)


def error_for(
    request: Request, status_code: int, message: str, headers: Mapping[str, str] | None
) -> Response:
    """The specification's error document for an error raised around a route (sign-in,
    validation of its parameters): XML when the path asks for XML."""
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    return _error(fmt, Open311Error(status_code, message), dict(headers) if headers else None)


async def answer(
    request: Request,
    intake: Intake,
    fmt: str,
    jurisdiction: str | None,
    build: Callable[[], Awaitable[Response]],
) -> Response:
    """Runs `build` and turns Open311Error into the specification's error document. A read
    counts against its client address's rate limit first."""
    try:
        if request.method == "GET":
            await _admit_reader(request, intake)
        if fmt not in FORMATS:
            raise Open311Error(404, f"format {fmt} is not supported: use json or xml")
        expected = intake.settings.open311_jurisdiction_id
        if jurisdiction and jurisdiction != expected:
            raise Open311Error(404, f"jurisdiction_id {jurisdiction} not found")
        return await build()
    except ReadsRateLimitedError as error:
        return _error(fmt, error, {"Retry-After": retry_after_header(error.wait_s)})
    except Open311Error as error:
        return _error(fmt, error)
    except REFUSALS as error:
        refusal, headers = _refusal(error, intake.settings)
        return _error(fmt, refusal, headers)


REFUSALS = (
    RateLimitedError,
    KafkaUnavailableError,
    OverloadedError,
    ReportRejectedError,
    IdempotencyConflictError,
    IdempotencyMismatchError,
)


def _refusal(error: Exception, settings: IntakeSettings) -> tuple[Open311Error, dict[str, str]]:
    """A refused submission as the specification's error, with the headers it needs."""
    if isinstance(error, RateLimitedError):
        limit = f"at most {settings.reports_per_minute} requests a minute"
        return Open311Error(429, limit), {"Retry-After": retry_after_header(error.wait_s)}
    if isinstance(error, KafkaUnavailableError | OverloadedError):
        unavailable = "the request could not be stored right now; retry later"
        return Open311Error(503, unavailable), {"Retry-After": str(settings.retry_after_s)}
    if isinstance(error, ReportRejectedError):
        status = 422 if isinstance(error, LocationConflictError) else 400
        return Open311Error(status, open311.describe_rejection(error)), {}
    return Open311Error(409 if isinstance(error, IdempotencyConflictError) else 422, str(error)), {}


class ReadsRateLimitedError(Open311Error):
    """Too many reads from one client address (429); `wait_s` until the next window."""

    def __init__(self, limit: int, wait_s: float) -> None:
        super().__init__(429, f"at most {limit} reads a minute from one address")
        self.wait_s = wait_s


async def _admit_reader(request: Request, intake: Intake) -> None:
    """Counts a read against its client address (the proxy's X-Forwarded-For when uvicorn
    trusts the proxy, see FORWARDED_ALLOW_IPS); raises ReadsRateLimitedError."""
    address = request.client.host if request.client else "unknown"
    wait = await intake.admit_reader(address)
    if wait is not None:
        metrics.RATE_LIMITED.labels("open311_reader").inc()
        raise ReadsRateLimitedError(intake.settings.open311_reads_per_minute, wait)


def _ok(fmt: str, root: str, document: Document) -> Response:
    stored = render(fmt, root, document)
    return Response(stored.body, media_type=stored.media_type)


@router.get("/services.{fmt}", summary="GET Service List")
async def list_services(
    request: Request, intake: IntakeDep, fmt: str, jurisdiction_id: Jurisdiction = None
) -> Response:
    """Every category as an Open311 service."""

    async def build() -> Response:
        return _ok(fmt, "services", open311.services())

    return await answer(request, intake, fmt, jurisdiction_id, build)


@router.get("/services/{service_code}.{fmt}", summary="GET Service Definition")
async def define_service(
    request: Request,
    intake: IntakeDep,
    service_code: str,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """A service's attributes with their datatypes (district is found from lat and long)."""

    async def build() -> Response:
        return _ok(
            fmt,
            "service_definition",
            open311.service_definition(service_code, intake.geography),
        )

    return await answer(request, intake, fmt, jurisdiction_id, build)


@router.post(
    "/requests.{fmt}",
    summary="POST Service Request",
    status_code=201,
    responses=SUBMIT_ERRORS,
)
async def create_request(
    request: Request,
    intake: IntakeDep,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Form-encoded request with api_key; 201 only once Kafka has acknowledged the case.
    Parameters: service_code, lat+long or address_string, description, attribute[district]
    (found from lat+long when not given; required with address_string alone),
    attribute[severity], attribute[community], media_url, and the spec's others."""

    async def build() -> Response:
        pairs, api_key = await _form(request)
        reporter = await _client(intake, api_key)
        category = dict(pairs).get("service_code")
        try:
            parsed = open311.parse_request(pairs)
        except Open311Error:
            metrics.rejected("validation", category)
            raise
        keyed = _keyed(parsed, reporter, fmt, idempotency_key, category)
        attributes = dict(parsed.attributes)
        if parsed.account_id:
            attributes["account_id"] = parsed.account_id[:200]
        submission = Submission(
            report=parsed.report,
            reporter=reporter,
            channel=Channel.OPEN311,
            media_url=parsed.media_url,
            attributes=attributes,
            idempotency=keyed,
            correlation_id=correlation_id.get(),
        )
        outcome = await intake.submit(submission, _created(fmt, parsed.account_id))
        return stored_as_response(outcome.response, replayed=outcome.replayed)

    return await answer(request, intake, fmt, jurisdiction_id, build)


def _keyed(
    parsed: open311.Open311Report,
    reporter: Reporter,
    fmt: str,
    idempotency_key: str | None,
    category: str | None,
) -> KeyedRequest | None:
    """The request's Idempotency-Key with its fingerprint; 400 for a malformed key."""
    content = {
        "report": parsed.report.model_dump(mode="json"),
        "media_url": parsed.media_url,
        "attributes": parsed.attributes,
    }
    route = f"POST /open311/v2/requests.{fmt}"
    try:
        return keyed_request(idempotency_key, reporter.reporter_id, route, content, [])
    except ValueError as error:
        metrics.rejected("idempotency_key", category)
        raise Open311Error(400, str(error)) from error


def _created(fmt: str, account_id: str | None) -> Render:
    """Renders the created request's document: its id and token."""

    def render_created(event: CaseReported) -> StoredResponse:
        document = [
            {
                "service_request_id": event.case_id,
                "token": str(event.event_id),
                "service_notice": None,
                "account_id": account_id,
            }
        ]
        return render(fmt, "service_requests", document, 201)

    return render_created


async def _form(request: Request) -> tuple[list[tuple[str, str]], str]:
    """A POST's form fields and its api_key (from the form or the query); media only by
    reference."""
    form = await request.form(max_files=0)
    pairs: list[tuple[str, str]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise Open311Error(400, "media must be referenced by media_url")
        pairs.append((name, value))
    api_key = form.get("api_key") or request.query_params.get("api_key")
    if not isinstance(api_key, str) or not api_key:
        raise Open311Error(403, "api_key is required")
    return pairs, api_key


async def _client(intake: Intake, api_key: str) -> Reporter:
    """The Open311 client a live api_key belongs to, as a reporter; 403 otherwise."""
    client = await intake.api_key_client(api_key)
    if client is None:
        raise Open311Error(403, "api_key is not valid")
    return open311.client_reporter(client)


async def _reader(intake: Intake, api_key: str | None) -> str | None:
    """The reporter id of the client whose api_key a GET carries, if it carries one."""
    return (await _client(intake, api_key)).reporter_id if api_key else None


def _date(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as error:
        raise Open311Error(400, f"{name} must be an ISO 8601 date and time") from error
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} must include a UTC offset (Z or +HH:MM)")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise Open311Error(400, f"{name} is out of the calendar's range") from error


def _period(
    start_date: str | None, end_date: str | None, now: datetime
) -> tuple[datetime, datetime]:
    """The period asked for: up to `end_date` (or now), from `start_date` (or 90 days before)."""
    until = _date(end_date, "end_date") or now
    since = _date(start_date, "start_date") or until - timedelta(days=open311.DEFAULT_SPAN_DAYS)
    if since > until:
        raise Open311Error(400, "start_date must not be after end_date")
    return since, until


def _positive_int(raw: str | None, name: str, default: int, maximum: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise Open311Error(400, f"{name} must be a whole number from 1 to {maximum}")
    return int(raw)


def _csv(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _statuses(requested: list[str] | None) -> list[str] | None:
    if requested is None:
        return None
    unknown = set(requested) - {"open", "closed"}
    if unknown:
        raise Open311Error(400, f"status must be open or closed, not {', '.join(sorted(unknown))}")
    statuses: list[str] = []
    if "open" in requested:
        statuses += OPEN_STATUSES
    if "closed" in requested:
        statuses += CLOSED_STATUSES
    return statuses


async def _views(
    intake: Intake,
    cases: list[dict[str, Any]],
    extensions: str | None,
    api_key: str | None,
) -> list[dict[str, Any]]:
    """Cases as service requests: `extensions=true` adds the detailed status, and the notes
    of the cases the client filed itself if the request carries its api_key."""
    extended = (extensions or "").lower() in ("true", "1")
    reader = await _reader(intake, api_key)
    geography = intake.geography
    return [
        open311.request_view(
            case,
            geography,
            extensions=extended,
            notes=extended and reader is not None and case.get("reporter_id") == reader,
        )
        for case in cases
    ]


def _filed_through_open311(case: dict[str, Any] | None) -> dict[str, Any] | None:
    """Only cases that came in through Open311 are public there; native reports are not."""
    return case if case is not None and case.get("channel") == Channel.OPEN311.value else None


RequestIds = Annotated[
    str | None, Query(description="comma-separated ids; other filters are then ignored")
]
ServiceCodes = Annotated[str | None, Query(description="comma-separated service codes")]
StartDate = Annotated[str | None, Query(description="ISO 8601, earliest requested_datetime")]
EndDate = Annotated[str | None, Query(description="ISO 8601, latest requested_datetime")]
Statuses = Annotated[str | None, Query(description="open, closed, or both comma-separated")]
PageNumber = Annotated[
    str | None, Query(description=f"extension: page number from 1 to {open311.MAX_PAGE}")
]
PageSize = Annotated[
    str | None, Query(description=f"extension: up to {open311.MAX_PAGE_SIZE} (the default)")
]
"""The query parameters of GET requests, taken as sent: they are parsed once, by the route,
so that a bad one gets Open311's error document."""


@router.get("/requests.{fmt}", summary="GET Service Requests")
async def list_requests(
    request: Request,
    intake: IntakeDep,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: RequestIds = None,
    service_code: ServiceCodes = None,
    start_date: StartDate = None,
    end_date: EndDate = None,
    status: Statuses = None,
    page: PageNumber = None,
    page_size: PageSize = None,
    extensions: Annotated[str | None, Query(description=EXTENSIONS)] = None,
    api_key: Annotated[str | None, Query(description=READER_KEY)] = None,
) -> Response:
    """Requests filed through Open311, newest first; by default those of the last 90 days.
    A page holds at most 100 requests (also the default; `page` and `page_size` go
    further), and at most 100 ids may be asked for at once. Reports from the native app
    are not public and never listed."""

    async def build() -> Response:
        size = _positive_int(page_size, "page_size", open311.MAX_PAGE_SIZE, open311.MAX_PAGE_SIZE)
        number = _positive_int(page, "page", 1, open311.MAX_PAGE)
        ids = _csv(service_request_id)
        cases = intake.cases
        if ids is not None and len(ids) > open311.MAX_PAGE_SIZE:
            raise Open311Error(
                400, f"service_request_id may list at most {open311.MAX_PAGE_SIZE} ids"
            )
        if ids is not None:
            found = await cases.search(
                case_ids=ids,
                channel=Channel.OPEN311.value,
                skip=(number - 1) * size,
                limit=size,
            )
        else:
            since, until = _period(start_date, end_date, intake.clock())
            found = await cases.search(
                categories=_csv(service_code),
                statuses=_statuses(_csv(status)),
                channel=Channel.OPEN311.value,
                reported_from=since,
                reported_until=until,
                skip=(number - 1) * size,
                limit=size,
            )
        return _ok(fmt, "service_requests", await _views(intake, found, extensions, api_key))

    return await answer(request, intake, fmt, jurisdiction_id, build)


@router.get("/requests/{service_request_id}.{fmt}", summary="GET Service Request")
async def get_request(
    request: Request,
    intake: IntakeDep,
    service_request_id: str,
    fmt: str,
    jurisdiction_id: Jurisdiction = None,
    extensions: Annotated[str | None, Query(description=EXTENSIONS)] = None,
    api_key: Annotated[str | None, Query(description=READER_KEY)] = None,
) -> Response:
    """One request filed through Open311, as a list of one (as the specification has it)."""

    async def build() -> Response:
        case = _filed_through_open311(await intake.cases.get(service_request_id))
        if case is None:
            raise Open311Error(404, f"service_request_id {service_request_id} not found")
        return _ok(fmt, "service_requests", await _views(intake, [case], extensions, api_key))

    return await answer(request, intake, fmt, jurisdiction_id, build)


@router.get("/tokens/{token}.{fmt}", summary="GET request id from a token")
async def resolve_token(
    request: Request, intake: IntakeDep, token: str, fmt: str, jurisdiction_id: Jurisdiction = None
) -> Response:
    """The service_request_id a POST's token stands for."""

    async def build() -> Response:
        case = _filed_through_open311(await intake.cases.by_token(token))
        if case is None:
            raise Open311Error(404, f"token {token} not found")
        return _ok(fmt, "service_requests", [open311.token_view(case)])

    return await answer(request, intake, fmt, jurisdiction_id, build)
