"""The native API for volunteers' apps: /v1/reports, /v1/categories, /v1/photos."""

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from gridcase_contracts.codes import CATEGORY_NAMES, Channel
from gridcase_contracts.events import CaseReported, Reporter
from gridcase_intake import metrics
from gridcase_intake.config import PHOTOS_LIMIT
from gridcase_intake.domain.geography import Geography
from gridcase_intake.domain.idempotency import StoredResponse, fingerprint, key_id, parse_key
from gridcase_intake.domain.reports import ReportIn, case_of_photo
from gridcase_intake.entrypoints.dependencies import IntakeDep, Volunteer
from gridcase_intake.entrypoints.schemas import (
    CategoryOut,
    ReportAccepted,
    ReportPage,
    ReportView,
    named_areas,
)
from gridcase_intake.handlers import (
    VOLUNTEER,
    KeyedRequest,
    Submission,
    visible_to,
)
from gridcase_runtime.audit import record_access
from gridcase_runtime.auth import CurrentPrincipal, Principal
from gridcase_runtime.bodies import body_doc, read_body
from gridcase_runtime.logs import correlation_id
from gridcase_runtime.metrics import authorization_failed

router = APIRouter(prefix="/v1", tags=["reports"])

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a retried submission safe: same key and payload, same case.",
    ),
]


def _readable(
    request: Request, case: dict[str, Any] | None, principal: Principal
) -> dict[str, Any] | None:
    """The case if the caller may see it; a case they may not see counts as a refusal."""
    visible = visible_to(case, principal)
    if case is not None and visible is None:
        authorization_failed(request, "not_visible")
    return visible


async def _read_report(request: Request, max_photos: int) -> tuple[ReportIn, list[bytes]]:
    """The report and photo bytes of a JSON body, or of a multipart body with the report as
    JSON in its `report` field (422 naming the field, counted under the category sent)."""
    try:
        return await read_body(request, ReportIn, max_files=max_photos, json_field="report")
    except RequestValidationError as error:
        sent = error.body.get("category") if isinstance(error.body, dict) else None
        metrics.rejected("validation", sent)
        raise


def keyed_request(
    header: str | None, scope: str, route: str, content: object, attachments: list[bytes]
) -> KeyedRequest | None:
    """The Idempotency-Key of a request, scoped to its caller, with the payload fingerprint.
    Raises ValueError for a malformed key."""
    if header is None:
        return None
    return KeyedRequest(key_id(scope, parse_key(header)), fingerprint(route, content, attachments))


def stored_as_response(stored: StoredResponse, *, replayed: bool) -> Response:
    headers = dict(stored.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(stored.body, stored.status_code, headers=headers, media_type=stored.media_type)


def _render_accepted(event: CaseReported, geography: Geography) -> StoredResponse:
    link = f"/v1/reports/{event.case_id}"
    location = event.payload.location
    district, community = named_areas(location.model_dump(), geography)
    body = ReportAccepted(
        case_id=event.case_id,
        status="reported",
        reported_at=event.occurred_at,
        location=location,
        district=district,
        community=community,
        photos=list(event.payload.photos),
        links={"self": link},
    )
    return StoredResponse(201, "application/json", body.model_dump_json(), {"Location": link})


@router.post(
    "/reports",
    status_code=status.HTTP_201_CREATED,
    response_model=ReportAccepted,
    openapi_extra=body_doc(ReportIn, max_photos=PHOTOS_LIMIT, json_field="report"),
    responses={
        400: {"description": "the Idempotency-Key is not a valid key"},
        409: {"description": "a request with the same Idempotency-Key is in flight"},
        413: {"description": "body larger than 1 MB (JSON) or the photo limits (multipart)"},
        422: {"description": "invalid field, or Idempotency-Key reused with another payload"},
        415: {"description": "neither JSON nor multipart/form-data"},
        429: {"description": "too many reports; see Retry-After"},
        503: {"description": "Kafka unavailable, nothing accepted; see Retry-After"},
    },
)
async def submit_report(
    request: Request,
    intake: IntakeDep,
    principal: Volunteer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Files a report; 201 only once Kafka has acknowledged the case."""
    settings = intake.settings
    report, photos = await _read_report(request, settings.max_photos)
    category = report.category.value
    try:
        keyed = keyed_request(
            idempotency_key,
            f"volunteer:{principal.subject}",
            "POST /v1/reports",
            report.model_dump(mode="json"),
            photos,
        )
    except ValueError as error:
        metrics.rejected("idempotency_key", category)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    submission = Submission(
        report=report,
        reporter=Reporter(reporter_id=principal.subject, name=principal.name),
        channel=Channel.APP,
        team=principal.team,
        photos=photos,
        idempotency=keyed,
        correlation_id=correlation_id.get(),
    )
    outcome = await intake.submit(
        submission, functools.partial(_render_accepted, geography=intake.geography)
    )
    return stored_as_response(outcome.response, replayed=outcome.replayed)


@router.get(
    "/reports/{case_id}",
    response_model=ReportView,
    responses={404: {"description": "no report of yours with this id"}},
)
async def get_report(
    case_id: str, request: Request, intake: IntakeDep, principal: CurrentPrincipal
) -> ReportView:
    """A report as its reporter sees it: status, public notes and timeline."""
    case = _readable(request, await intake.cases.get(case_id), principal)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no report {case_id}")
    record_access(request, principal, "case.read", case_id=case_id)
    return ReportView.of(case, intake.geography)


MAX_PAGE = 1_000_000
"""Pages skip at most 10^8 reports: the database counts a skip in a 64-bit integer."""


@router.get("/reports", response_model=ReportPage)
async def list_reports(
    request: Request,
    intake: IntakeDep,
    principal: Volunteer,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReportPage:
    """The caller's own reports, newest first."""
    cases, total = await intake.cases.of_reporter(
        principal.subject, kind=VOLUNTEER, skip=(page - 1) * page_size, limit=page_size
    )
    record_access(request, principal, "cases.list", count=len(cases))
    return ReportPage(
        items=[ReportView.of(case, intake.geography) for case in cases],
        page=page,
        page_size=page_size,
        total=total,
    )


@router.get("/categories", response_model=list[CategoryOut], tags=["catalogue"])
async def categories() -> list[CategoryOut]:
    """The categories a report may name, with Chinese and English names."""
    return [
        CategoryOut(code=category.value, name_zh=chinese, name_en=english)
        for category, (chinese, english) in CATEGORY_NAMES.items()
    ]


@router.get(
    "/boundaries",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}, 304: {"description": "unchanged"}},
    tags=["catalogue"],
)
async def boundaries(request: Request, intake: IntakeDep) -> Response:
    """The city's districts and communities as GeoJSON (codes, Chinese and English names)
    for the maps; the same boundaries that reports' points are placed by."""
    served = intake.boundaries
    headers = {"ETag": served.etag, "Cache-Control": "public, max-age=3600"}
    if request.headers.get("if-none-match") == served.etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(served.document, media_type="application/geo+json", headers=headers)


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
        404: {"description": "no photo of yours with this id"},
    },
    tags=["photos"],
)
async def get_photo(
    photo_id: str, request: Request, intake: IntakeDep, principal: CurrentPrincipal
) -> Response:
    """A report's photo (the stored copy, without EXIF), to whoever may see its report."""
    case_id = case_of_photo(photo_id)
    case = (
        None if case_id is None else _readable(request, await intake.cases.get(case_id), principal)
    )
    loaded = None if case is None else await intake.photos.load(photo_id)
    if loaded is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no photo {photo_id}")
    record_access(request, principal, "photo.download", case_id=case_id, resource=photo_id)
    stored, data = loaded
    return Response(
        data,
        media_type=stored.content_type,
        headers={
            "ETag": f'"{stored.sha256}"',
            "Cache-Control": "private, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
