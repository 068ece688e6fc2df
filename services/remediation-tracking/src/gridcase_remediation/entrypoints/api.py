"""The HTTP API: case reads, handler/inspector/reporter actions, photos, audit exports."""

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from gridcase_contracts.codes import CITY_TIME_ZONE, CaseStatus, Category, District
from gridcase_contracts.events import PhotoRef
from gridcase_remediation import metrics
from gridcase_remediation.adapters.records import CaseRecord
from gridcase_remediation.adapters.repository import (
    CaseQuery,
    CaseRepository,
    CursorError,
)
from gridcase_remediation.bootstrap import SERVICE, WORKERS, Components, build
from gridcase_remediation.config import MAX_PHOTOS, RemediationSettings
from gridcase_remediation.domain.actions import (
    ActorNotPermittedError,
    Decider,
    RuleViolationError,
)
from gridcase_remediation.domain.audit import (
    CASE_COLUMNS,
    TIMELINE_COLUMNS,
    case_row,
    timeline_row,
)
from gridcase_remediation.domain.lifecycle import Action, ActionNotAllowedError
from gridcase_remediation.entrypoints import schemas
from gridcase_remediation.handlers import (
    CaseHiddenError,
    CaseNotFoundError,
    Decision,
    ExpectedVersion,
    VersionConflictError,
    VersionRequiredError,
    allowed_actions,
    get_case,
    get_case_to_act,
    rebuilt,
    take_action,
)
from gridcase_runtime.app import create_service_app, serve
from gridcase_runtime.audit import record_access
from gridcase_runtime.auth import Principal, Role, require_roles
from gridcase_runtime.csv_text import csv_response
from gridcase_runtime.health import kafka_reachable
from gridcase_runtime.kafka import ensure_case_topics
from gridcase_runtime.limits import BodySizeLimitMiddleware
from gridcase_runtime.logs import correlation_id
from gridcase_runtime.metrics import authorization_failed
from gridcase_runtime.mongo import close, ping
from gridcase_runtime.photos import PhotoError, checked_photo
from gridcase_runtime.problems import DomainErrors, Problem, problem, validation_problem
from gridcase_runtime.workers import running

M = TypeVar("M", bound=BaseModel)

Worker = Annotated[Principal, require_roles(Role.HANDLER, Role.SUPERVISOR)]
Supervisor = Annotated[Principal, require_roles(Role.SUPERVISOR)]
Reporter = Annotated[Principal, require_roles(Role.VOLUNTEER)]
Reader = Annotated[
    Principal, require_roles(Role.HANDLER, Role.SUPERVISOR, Role.ADMIN, Role.VOLUNTEER)
]
Staff = Annotated[Principal, require_roles(Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)]
Auditor = Annotated[Principal, require_roles(Role.SUPERVISOR, Role.ADMIN)]
IfMatch = Annotated[
    str | None,
    Header(description='The ETag from GET /v1/cases/{case_id}, e.g. "3".'),
]

router = APIRouter(prefix="/v1", tags=["cases"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such case or photo"}}
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "not allowed in the case's status, or the case changed since read"},
    412: {"description": "If-Match does not hold the case's current version"},
    413: {"description": "body larger than the JSON or multipart limit"},
    415: {"description": "neither JSON nor multipart/form-data"},
    428: {"description": "neither If-Match nor expected_version was sent"},
}


def components(request: Request) -> Components:
    found: Components = request.app.state.components
    return found


def etag(version: int) -> str:
    return f'"{version}"'


def _case_not_found(request: Request, error: CaseNotFoundError) -> Problem:
    """A hidden case is answered as a missing one, and counted as a refusal."""
    if isinstance(error, CaseHiddenError):
        authorization_failed(request, "not_visible")
    return Problem(problem(404, f"no case {error}", code="not-found"))


def _version_required(_request: Request, _error: VersionRequiredError) -> Problem:
    detail = 'send If-Match: "<version>" (the ETag of GET) or expected_version'
    return Problem(problem(428, detail, code="version-required"))


def _version_conflict(_request: Request, error: VersionConflictError) -> Problem:
    document = problem(
        412 if error.precondition else 409,
        "the case changed since you read it; read it again",
        code="version-conflict",
        current_version=error.current,
    )
    return Problem(document, {"ETag": etag(error.current)})


def _action_not_allowed(_request: Request, error: ActionNotAllowedError) -> Problem:
    document = problem(
        409,
        str(error),
        code="action-not-allowed",
        case_status=error.status,
        action=error.action,
        allowed_actions=error.allowed,
    )
    return Problem(document)


def _rule_violated(_request: Request, error: RuleViolationError) -> Problem:
    violation = {"loc": ["body", error.field], "msg": error.reason, "type": "rule_violated"}
    return Problem(validation_problem(422, [violation]))


DOMAIN_ERRORS: DomainErrors = {
    CaseNotFoundError: _case_not_found,
    ActorNotPermittedError: 403,
    VersionRequiredError: _version_required,
    VersionConflictError: _version_conflict,
    ActionNotAllowedError: _action_not_allowed,
    RuleViolationError: _rule_violated,
}


CaseResponse = schemas.CaseView | schemas.PublicCaseView


def view(record: CaseRecord, principal: Principal, *, timeline: bool) -> CaseResponse:
    """The whole case for staff; the public view for the reporting volunteer."""
    shape = schemas.PublicCaseView if principal.role == Role.VOLUNTEER else schemas.CaseView
    return shape.of(record, allowed=allowed_actions(record.case, principal), timeline=timeline)


# --- request bodies: JSON, or multipart with the same fields plus `photos` files ---------


def _inline_refs(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline_refs(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions)
        return {k: _inline_refs(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(item, definitions) for item in schema]
    return schema


def body_doc(model: type[BaseModel], *, photos: bool = False) -> dict[str, Any]:
    """OpenAPI request body for a route that reads JSON or multipart itself."""
    schema = model.model_json_schema()
    schema = _inline_refs(schema, schema.get("$defs", {}))
    multipart = {**schema, "properties": dict(schema["properties"])}
    if photos:
        multipart["properties"]["photos"] = {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "maxItems": MAX_PHOTOS,
        }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": multipart},
            },
        }
    }


async def read_body(request: Request, model: type[M]) -> tuple[M, list[bytes]]:
    """The validated fields and the raw photo files of an action request."""
    content_type = request.headers.get("content-type", "")
    files: list[bytes] = []
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=MAX_PHOTOS, max_fields=50) as form:
            data: dict[str, Any] = {}
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if name != "photos":
                        only_photos = "only photos may be files"
                        raise RequestValidationError(
                            [{"loc": ["body", name], "msg": only_photos, "type": "file"}]
                        )
                    files.append(await value.read())
                else:
                    data[name] = value
    else:
        raw = await request.body()
        if raw and not content_type.startswith("application/json"):
            raise HTTPException(415, "send application/json or multipart/form-data")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError as error:
            raise RequestValidationError(
                [{"loc": ["body"], "msg": f"invalid JSON: {error}", "type": "json_invalid"}]
            ) from error
        if not isinstance(data, dict):
            raise RequestValidationError(
                [{"loc": ["body"], "msg": "expected a JSON object", "type": "object_type"}]
            )
    try:
        return model.model_validate(data), files
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ["body", *e["loc"]]} for e in error.errors(include_url=False)]
        ) from error


def expected_version(if_match: str | None, body: schemas.ActionBody) -> ExpectedVersion | None:
    if if_match is not None:
        tag = if_match.strip().removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise HTTPException(
                412, {"error": "precondition-failed", "message": "If-Match must hold an ETag"}
            )
        return ExpectedVersion(int(tag), from_if_match=True)
    if body.expected_version is not None:
        return ExpectedVersion(body.expected_version, from_if_match=False)
    return None


async def store_photos(parts: Components, case_id: str, files: list[bytes]) -> list[PhotoRef]:
    """Checks and stores uploaded photos under content-derived ids (retries reuse them)."""
    refs = []
    for index, data in enumerate(files):
        try:
            photo = await checked_photo(data)
        except PhotoError as error:
            raise RequestValidationError(
                [{"loc": ["body", "photos", index], "msg": str(error), "type": "photo_invalid"}]
            ) from error
        stored = await parts.photos.save(
            photo, owner=case_id, photo_id=f"{case_id}-{photo.sha256[:32]}"
        )
        refs.append(stored.ref(parts.settings.public_base_url))
    return refs


async def act(
    request: Request,
    response: Response,
    *,
    case_id: str,
    principal: Principal,
    if_match: str | None,
    body: schemas.ActionBody,
    action: Action,
    decide: Decision,
) -> CaseResponse:
    """Runs one action and answers with the case as it now stands."""
    parts = components(request)
    started = time.perf_counter()
    record = await take_action(
        parts.repository,
        case_id=case_id,
        principal=principal,
        expected=expected_version(if_match, body),
        decide=decide,
        now=datetime.now(UTC),
        correlation_id=correlation_id.get(),
    )
    parts.relay.notify()
    metrics.ACTION_DURATION.labels(action.value).observe(time.perf_counter() - started)
    response.headers["ETag"] = etag(record.version)
    return view(record, principal, timeline=True)


# --- reads ------------------------------------------------------------------------------


@router.get("/cases", response_model=schemas.CasePage)
async def list_cases(
    request: Request,
    principal: Reader,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    category: Category | None = None,
    district: District | None = None,
    department: Annotated[
        str | None, Query(description="Supervisors: one department's cases.")
    ] = None,
    overdue: Annotated[bool | None, Query(description="Only cases with an overdue stage.")] = None,
    assigned_to_me: bool = False,
    sort: Literal["reported_at", "-reported_at", "updated_at", "-updated_at"] = "-reported_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> schemas.CasePage:
    """Cases the caller may see, filtered and sorted, one page at a time."""
    query = CaseQuery(
        departments=principal.department if principal.role == Role.HANDLER else None,
        reporter_id=principal.subject if principal.role == Role.VOLUNTEER else None,
        statuses=tuple(s.value for s in status or ()),
        category=category,
        district=district,
        department=department,
        handler=principal.subject if assigned_to_me else None,
        overdue=overdue,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    try:
        records, next_cursor = await components(request).repository.search(query)
    except CursorError as error:
        raise RequestValidationError(
            [{"loc": ["query", "cursor"], "msg": str(error), "type": "value_error"}]
        ) from error
    record_access(request, principal, "cases.list", count=len(records))
    return schemas.CasePage(
        items=[view(r, principal, timeline=False) for r in records], next_cursor=next_cursor
    )


async def readable(request: Request, case_id: str, principal: Principal) -> CaseRecord:
    return await get_case(components(request).repository, case_id, principal)


async def actionable(request: Request, case_id: str, principal: Principal) -> CaseRecord:
    return await get_case_to_act(components(request).repository, case_id, principal)


@router.get("/cases/{case_id}", response_model=CaseResponse, responses=NOT_FOUND)
async def read_case(
    request: Request, response: Response, case_id: str, principal: Reader
) -> CaseResponse:
    """The case's projection and its full timeline (for the reporting volunteer: the
    public view); the ETag is its version."""
    record = await readable(request, case_id, principal)
    record_access(request, principal, "case.read", case_id=case_id)
    response.headers["ETag"] = etag(record.version)
    return view(record, principal, timeline=True)


@router.get("/cases/{case_id}/timeline", tags=["audit"], responses=NOT_FOUND)
async def timeline_json(request: Request, case_id: str, principal: Staff) -> dict[str, Any]:
    """The audit trail of one case as JSON: every event, oldest first."""
    record = await readable(request, case_id, principal)
    record_access(request, principal, "case.timeline.read", case_id=case_id)
    return {
        "case_id": case_id,
        "version": record.version,
        "events": [entry.event().model_dump(mode="json") for entry in record.ledger],
    }


@router.get(
    "/cases/{case_id}/timeline.csv",
    tags=["audit"],
    response_class=Response,
    responses=NOT_FOUND,
)
async def timeline_csv(request: Request, case_id: str, principal: Staff) -> Response:
    """The audit trail of one case as CSV."""
    record = await readable(request, case_id, principal)
    record_access(request, principal, "case.timeline.export", case_id=case_id)
    rows = (timeline_row(n, entry.event()) for n, entry in enumerate(record.ledger, 1))
    return csv_response(rows, f"{case_id}-timeline.csv", TIMELINE_COLUMNS)


def city_day_start(field: str, day: date, *, days_after: int = 0) -> datetime:
    """The UTC instant the city's `day` (plus `days_after`) begins; 422 naming `field` when
    that instant falls outside the calendar (before year 1 or after 9999 in UTC)."""
    try:
        start = datetime.combine(day, datetime.min.time(), CITY_TIME_ZONE)
        return (start + timedelta(days=days_after)).astimezone(UTC)
    except OverflowError as error:
        raise RequestValidationError(
            [{"loc": ["query", field], "msg": "out of the calendar's range", "type": "date_range"}]
        ) from error


@router.get("/exports/cases.csv", tags=["audit"], response_class=Response)
async def period_csv(
    request: Request,
    principal: Auditor,
    start: Annotated[date, Query(alias="from", description="First day (Asia/Shanghai).")],
    end: Annotated[date, Query(alias="to", description="Last day, inclusive.")],
) -> Response:
    """Every case reported in a period of city days, one row each."""
    if end < start:
        raise RequestValidationError(
            [{"loc": ["query", "to"], "msg": "must not precede from", "type": "value_error"}]
        )
    since, until = city_day_start("from", start), city_day_start("to", end, days_after=1)
    repository = components(request).repository
    rows = [
        case_row(record.case, record.version)
        async for record in repository.reported_between(since, until)
    ]
    record_access(request, principal, "cases.export", resource=f"{start}/{end}", count=len(rows))
    return csv_response(rows, f"cases-{start}-{end}.csv", CASE_COLUMNS)


@router.get("/photos/{photo_id}", tags=["photos"], response_class=Response, responses=NOT_FOUND)
async def photo(request: Request, photo_id: str, principal: Reader) -> Response:
    """An evidence photo, to whoever may see its case."""
    parts = components(request)
    loaded = await parts.photos.load(photo_id)
    if loaded is None:
        raise HTTPException(404, {"error": "not-found", "message": f"no photo {photo_id}"})
    stored, data = loaded
    await readable(request, stored.owner, principal)
    record_access(request, principal, "photo.download", case_id=stored.owner, resource=photo_id)
    return Response(
        data,
        media_type=stored.content_type,
        headers={"Cache-Control": "private, max-age=86400", "ETag": f'"{stored.sha256}"'},
    )


# --- actions ----------------------------------------------------------------------------


@router.post(
    "/cases/{case_id}/accept",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.AcceptBody),
)
async def accept(
    request: Request, response: Response, case_id: str, principal: Worker, if_match: IfMatch = None
) -> CaseResponse:
    """Accept a case assigned to your department."""
    body, _ = await read_body(request, schemas.AcceptBody)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.ACCEPT,
        decide=Decider.accept,
    )


@router.post(
    "/cases/{case_id}/rectification-orders",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.RectificationOrderBody),
)
async def order_rectification(
    request: Request, response: Response, case_id: str, principal: Worker, if_match: IfMatch = None
) -> CaseResponse:
    """Order rectification: a measure, a deadline and the party responsible."""
    body, _ = await read_body(request, schemas.RectificationOrderBody)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.ORDER_RECTIFICATION,
        decide=lambda d: d.order_rectification(
            measure=body.measure,
            deadline=body.deadline.astimezone(UTC),
            responsible_party=body.responsible_party,
            note=body.note,
        ),
    )


@router.post(
    "/cases/{case_id}/progress",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.ProgressBody, photos=True),
)
async def record_progress(
    request: Request, response: Response, case_id: str, principal: Worker, if_match: IfMatch = None
) -> CaseResponse:
    """Record progress with a note and optional photos (the first one is the first response)."""
    body, files = await read_body(request, schemas.ProgressBody)
    await actionable(request, case_id, principal)
    photos = await store_photos(components(request), case_id, files)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.RECORD_PROGRESS,
        decide=lambda d: d.record_progress(note=body.note, photos=photos),
    )


@router.post(
    "/cases/{case_id}/resolve",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.ResolveBody, photos=True),
)
async def resolve(
    request: Request, response: Response, case_id: str, principal: Worker, if_match: IfMatch = None
) -> CaseResponse:
    """Resolve with evidence: a note, and a photo except for public-service obstruction."""
    body, files = await read_body(request, schemas.ResolveBody)
    await actionable(request, case_id, principal)
    photos = await store_photos(components(request), case_id, files)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.RESOLVE,
        decide=lambda d: d.resolve(note=body.note, photos=photos),
    )


@router.post(
    "/cases/{case_id}/return",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.ReasonBody),
)
async def return_case(
    request: Request, response: Response, case_id: str, principal: Worker, if_match: IfMatch = None
) -> CaseResponse:
    """Return a case that is not your department's, with the reason."""
    body, _ = await read_body(request, schemas.ReasonBody)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.RETURN,
        decide=lambda d: d.return_case(reason=body.reason),
    )


@router.post(
    "/cases/{case_id}/reject",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.ReasonBody),
)
async def reject(
    request: Request, response: Response, case_id: str, principal: Worker, if_match: IfMatch = None
) -> CaseResponse:
    """Reject a case as not admissible, with the reason."""
    body, _ = await read_body(request, schemas.ReasonBody)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.REJECT,
        decide=lambda d: d.reject(reason=body.reason),
    )


@router.post(
    "/cases/{case_id}/close",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.CloseBody),
)
async def close_case(
    request: Request, response: Response, case_id: str, principal: Worker, if_match: IfMatch = None
) -> CaseResponse:
    """Close a verified case."""
    body, _ = await read_body(request, schemas.CloseBody)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.CLOSE,
        decide=lambda d: d.close(note=body.note),
    )


@router.post(
    "/cases/{case_id}/verify",
    responses=ACTION_ERRORS,
    response_model=schemas.CaseView,
    openapi_extra=body_doc(schemas.VerifyBody),
    tags=["inspection"],
)
async def verify(
    request: Request,
    response: Response,
    case_id: str,
    principal: Supervisor,
    if_match: IfMatch = None,
) -> CaseResponse:
    """Verify a fix independently: pass -> verified, fail -> reopened (not by the resolver)."""
    body, _ = await read_body(request, schemas.VerifyBody)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.VERIFY if body.passed else Action.REOPEN,
        decide=lambda d: d.verify(passed=body.passed, reason=body.reason),
    )


@router.post(
    "/cases/{case_id}/confirm",
    responses=ACTION_ERRORS,
    response_model=schemas.PublicCaseView,
    openapi_extra=body_doc(schemas.ConfirmBody),
    tags=["reporter"],
)
async def confirm(
    request: Request,
    response: Response,
    case_id: str,
    principal: Reporter,
    if_match: IfMatch = None,
) -> CaseResponse:
    """The reporting volunteer's verdict on the fix, with a 1-5 rating."""
    body, _ = await read_body(request, schemas.ConfirmBody)
    return await act(
        request,
        response,
        case_id=case_id,
        principal=principal,
        if_match=if_match,
        body=body,
        action=Action.CONFIRM,
        decide=lambda d: d.confirm(
            satisfied=body.satisfied, rating=body.rating, comment=body.comment
        ),
    )


# --- administration -----------------------------------------------------------------------

admin_router = APIRouter(prefix="/v1/admin", tags=["administration"])


async def rebuild_projections(repository: CaseRepository, case_id: str | None) -> tuple[int, int]:
    """Refolds projections from their ledgers; returns (checked, repaired)."""
    checked = repaired = 0
    case_ids = [case_id] if case_id else [c async for c in repository.case_ids()]
    for one in case_ids:
        record = await repository.get(one)
        if record is None:
            continue
        checked += 1
        fresh = rebuilt(record)
        if fresh != record.case and await repository.replace_projection(record, fresh):
            repaired += 1
    return checked, repaired


@admin_router.post("/rebuild-projections", response_model=schemas.RebuildReport)
async def rebuild(
    request: Request,
    principal: Annotated[Principal, require_roles(Role.ADMIN)],
    case_id: str | None = None,
) -> schemas.RebuildReport:
    """Rebuild case projections from their ledgers (one case, or all)."""
    checked, repaired = await rebuild_projections(components(request).repository, case_id)
    return schemas.RebuildReport(checked=checked, repaired=repaired)


# --- the app ------------------------------------------------------------------------------


def create_app(
    settings: RemediationSettings | None = None, *, workers: tuple[str, ...] = WORKERS
) -> FastAPI:
    """The service app; `workers` picks the background loops that run beside it."""
    settings = settings or RemediationSettings()
    parts = build(settings, workers=workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ensure_case_topics(settings)
        await parts.repository.create_indexes()
        await parts.relay.create_indexes()
        await parts.photos.create_indexes()
        try:
            async with running(parts.workers):
                yield
        finally:
            parts.publisher.close()
            close(parts.database)

    async def mongo_reachable() -> None:
        await ping(parts.database)

    app = create_service_app(
        service=SERVICE,
        settings=settings,
        lifespan=lifespan,
        title="gridcase remediation-tracking",
        description=(
            "The case state machine, handler, inspector and reporter actions, the full "
            "case history and SLA timers."
        ),
        readiness_checks={
            "kafka": kafka_reachable(settings.kafka_bootstrap_servers),
            "mongo": mongo_reachable,
        },
        domain_errors=DOMAIN_ERRORS,
    )
    app.state.components = parts
    app.include_router(router)
    app.include_router(admin_router)
    app.add_middleware(
        BodySizeLimitMiddleware,
        json_limit=settings.json_body_limit,
        multipart_limit=settings.multipart_body_limit,
    )
    return app


def main() -> None:
    """`gridcase-remediation`: serve the API and workers (`rebuild` refolds projections)."""
    parser = argparse.ArgumentParser(prog="gridcase-remediation")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (the default)")
    rebuild_cmd = commands.add_parser("rebuild", help="rebuild projections from the ledgers")
    rebuild_cmd.add_argument("--case-id", help="only this case")
    args = parser.parse_args()
    settings = RemediationSettings()
    if args.command == "rebuild":
        parts = build(settings, workers=())
        checked, repaired = asyncio.run(rebuild_projections(parts.repository, args.case_id))
        print(json.dumps({"checked": checked, "repaired": repaired}))
        return
    serve(create_app(settings), settings, SERVICE)
