"""The handler, inspector and reporter actions, one route each, all made from one table:
the action's path, body, roles and decision."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError

from gridcase_contracts.events import PhotoRef
from gridcase_remediation import metrics
from gridcase_remediation.bootstrap import Components
from gridcase_remediation.config import MAX_PHOTOS
from gridcase_remediation.domain.actions import Decider
from gridcase_remediation.domain.lifecycle import Action
from gridcase_remediation.entrypoints import schemas
from gridcase_remediation.entrypoints.dependencies import (
    NOT_FOUND,
    CaseResponse,
    ComponentsDep,
    IfMatch,
    Reporter,
    Supervisor,
    Worker,
    actionable,
    etag,
    view,
)
from gridcase_remediation.handlers import Decision, ExpectedVersion, take_action
from gridcase_runtime.bodies import body_doc, read_body
from gridcase_runtime.logs import correlation_id
from gridcase_runtime.photos import PhotoError, checked_photo

router = APIRouter(prefix="/v1", tags=["cases"])

ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "not allowed in the case's status, or the case changed since read"},
    412: {"description": "If-Match does not hold the case's current version"},
    413: {"description": "body larger than the JSON or multipart limit"},
    415: {"description": "neither JSON nor multipart/form-data"},
    428: {"description": "neither If-Match nor expected_version was sent"},
}


@dataclass(frozen=True)
class ActionRoute:
    """One action: POST /v1/cases/{case_id}/<path> with a `body` from people in `roles`,
    running `action` (chosen from the body where it depends on it) through `decide`."""

    name: str
    path: str
    summary: str
    body: type[schemas.ActionBody]
    roles: Any
    action: Callable[[Any], Action]
    decide: Callable[[Any, list[PhotoRef]], Decision]
    photos: bool = False
    response_model: type[CaseResponse] = schemas.CaseView
    tag: str = "cases"


ACTIONS = (
    ActionRoute(
        "accept",
        "accept",
        "Accept a case assigned to your department.",
        schemas.AcceptBody,
        Worker,
        lambda _: Action.ACCEPT,
        lambda _body, _photos: Decider.accept,
    ),
    ActionRoute(
        "order_rectification",
        "rectification-orders",
        "Order rectification: a measure, a deadline and the party responsible.",
        schemas.RectificationOrderBody,
        Worker,
        lambda _: Action.ORDER_RECTIFICATION,
        lambda body, _photos: (
            lambda d: d.order_rectification(
                measure=body.measure,
                deadline=body.deadline.astimezone(UTC),
                responsible_party=body.responsible_party,
                note=body.note,
            )
        ),
    ),
    ActionRoute(
        "record_progress",
        "progress",
        "Record progress with a note and optional photos (the first one is the first response).",
        schemas.ProgressBody,
        Worker,
        lambda _: Action.RECORD_PROGRESS,
        lambda body, photos: lambda d: d.record_progress(note=body.note, photos=photos),
        photos=True,
    ),
    ActionRoute(
        "resolve",
        "resolve",
        "Resolve with evidence: a note, and a photo except for public-service obstruction.",
        schemas.ResolveBody,
        Worker,
        lambda _: Action.RESOLVE,
        lambda body, photos: lambda d: d.resolve(note=body.note, photos=photos),
        photos=True,
    ),
    ActionRoute(
        "return_case",
        "return",
        "Return a case that is not your department's, with the reason.",
        schemas.ReasonBody,
        Worker,
        lambda _: Action.RETURN,
        lambda body, _photos: lambda d: d.return_case(reason=body.reason),
    ),
    ActionRoute(
        "reject",
        "reject",
        "Reject a case as not admissible, with the reason.",
        schemas.ReasonBody,
        Worker,
        lambda _: Action.REJECT,
        lambda body, _photos: lambda d: d.reject(reason=body.reason),
    ),
    ActionRoute(
        "close_case",
        "close",
        "Close a verified case.",
        schemas.CloseBody,
        Worker,
        lambda _: Action.CLOSE,
        lambda body, _photos: lambda d: d.close(note=body.note),
    ),
    ActionRoute(
        "verify",
        "verify",
        "Verify a fix independently: pass -> verified, fail -> reopened (not by the resolver).",
        schemas.VerifyBody,
        Supervisor,
        lambda body: Action.VERIFY if body.passed else Action.REOPEN,
        lambda body, _photos: lambda d: d.verify(passed=body.passed, reason=body.reason),
        tag="inspection",
    ),
    ActionRoute(
        "confirm",
        "confirm",
        "The reporting volunteer's verdict on the fix, with a 1-5 rating.",
        schemas.ConfirmBody,
        Reporter,
        lambda _: Action.CONFIRM,
        lambda body, _photos: (
            lambda d: d.confirm(satisfied=body.satisfied, rating=body.rating, comment=body.comment)
        ),
        response_model=schemas.PublicCaseView,
        tag="reporter",
    ),
)


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


def _route(spec: ActionRoute) -> Callable[..., Any]:
    async def run_action(
        request: Request,
        response: Response,
        parts: ComponentsDep,
        case_id: str,
        principal: spec.roles,  # type: ignore[name-defined]
        if_match: IfMatch = None,
    ) -> CaseResponse:
        body, files = await read_body(request, spec.body, max_files=MAX_PHOTOS)
        photos: list[PhotoRef] = []
        if spec.photos:
            await actionable(parts, case_id, principal)
            photos = await store_photos(parts, case_id, files)
        action = spec.action(body)
        started = time.perf_counter()
        record = await take_action(
            parts.repository,
            case_id=case_id,
            principal=principal,
            expected=expected_version(if_match, body),
            decide=spec.decide(body, photos),
            now=datetime.now(UTC),
            correlation_id=correlation_id.get(),
        )
        parts.relay.notify()
        metrics.ACTION_DURATION.labels(action.value).observe(time.perf_counter() - started)
        response.headers["ETag"] = etag(record.version)
        return view(record, principal, timeline=True)

    return run_action


for _spec in ACTIONS:
    router.add_api_route(
        f"/cases/{{case_id}}/{_spec.path}",
        _route(_spec),
        methods=["POST"],
        name=_spec.name,
        description=_spec.summary,
        response_model=_spec.response_model,
        responses=ACTION_ERRORS,
        openapi_extra=body_doc(_spec.body, max_photos=MAX_PHOTOS if _spec.photos else 0),
        tags=[_spec.tag],
    )
