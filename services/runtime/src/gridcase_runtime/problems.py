"""Errors as RFC 9457 problem details (`application/problem+json`), mapped in one place per
app: HTTP exceptions, request validation and each service's own domain exceptions.

A problem has `type` (`about:blank`, or `urn:gridcase:problem:<code>` when the error has a
code of its own), `title`, `status` and `detail`; a validation problem also names the
offending `field` and lists every error in `errors` (`loc`, `field`, `msg`, `type`)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:gridcase:problem:"
_LOCATION_KINDS = {"body", "query", "path", "header", "cookie"}

OtherFormat = Callable[[Request, int, str, Mapping[str, str] | None], Response]
"""Renders an error for routes that answer in a format of their own (status, message,
headers)."""


@dataclass(frozen=True)
class Problem:
    """What a domain exception answers: a problem document and the headers sent with it."""

    document: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


DomainErrors = Mapping[type[Exception], int | Callable[[Request, Any], Problem]]
"""Each domain exception class with its status (its message becomes the detail), or with a
function of the request and the error that builds its problem."""


def problem(
    status: int,
    detail: str | None = None,
    *,
    code: str | None = None,
    title: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """The problem document for `status`; `extensions` become members of their own."""
    document: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}" if code else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        document["detail"] = detail
    document.update(extensions)
    return document


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **members: Any,
) -> Response:
    return Response(
        orjson.dumps(problem(status, detail, **members)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def field_of(loc: Sequence[Any]) -> str | None:
    """`["body", "location", "lat"]` → `"location.lat"`; `["body"]` → None."""
    parts = list(loc[1:] if loc and loc[0] in _LOCATION_KINDS else loc)
    return ".".join(str(part) for part in parts) or None


def validation_problem(status: int, errors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A problem naming the first offending field and listing every error."""
    listed = [
        {
            "loc": list(error.get("loc", ())),
            "field": field_of(error.get("loc", ())),
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "invalid")),
        }
        for error in errors
    ]
    field = listed[0]["field"] if listed else None
    message = str(listed[0]["msg"]) if listed else "invalid request"
    return problem(
        status,
        f"{field}: {message}" if field else message,
        code="too-large" if status == 413 else "invalid-request",
        field=field,
        errors=listed,
    )


def _from_http_exception(error: HTTPException) -> tuple[dict[str, Any], str]:
    """The problem and a plain message; a dict detail may carry `error` (the code),
    `message` (the detail) and members of its own."""
    detail = error.detail
    if isinstance(detail, list):
        document = validation_problem(error.status_code, detail)
        return document, document["detail"]
    if isinstance(detail, dict):
        members = dict(detail)
        code = members.pop("error", None)
        message = str(members.pop("message", "")) or None
        return problem(error.status_code, message, code=code, **members), message or ""
    return problem(error.status_code, str(detail)), str(detail)


def install_problem_handlers(
    app: FastAPI,
    domain_errors: DomainErrors | None = None,
    *,
    other_formats: Mapping[str, OtherFormat] | None = None,
) -> None:
    """Answers every error of `app` as a problem: HTTP exceptions, validation errors, and
    each domain exception as `domain_errors` says. Routes under
    a path prefix of `other_formats` get that renderer instead."""
    other_formats = other_formats or {}

    def render(
        request: Request,
        document: dict[str, Any],
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        for prefix, other in other_formats.items():
            if request.url.path.startswith(prefix):
                return other(request, document["status"], message, headers)
        return Response(
            orjson.dumps(document),
            status_code=document["status"],
            media_type=PROBLEM_JSON,
            headers=dict(headers or {}),
        )

    async def on_http_exception(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        document, message = _from_http_exception(error)
        return render(request, document, message, error.headers)

    async def on_invalid_request(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        document = validation_problem(422, error.errors())
        return render(request, document, document["detail"])

    def on_domain_error(
        mapping: int | Callable[[Request, Any], Problem],
    ) -> Callable[[Request, Exception], Any]:
        async def handle(request: Request, error: Exception) -> Response:
            if isinstance(mapping, int):
                found = Problem(problem(mapping, str(error), code=_code_of(type(error))))
            else:
                found = mapping(request, error)
            detail = str(found.document.get("detail", ""))
            return render(request, found.document, detail, found.headers)

        return handle

    app.add_exception_handler(HTTPException, on_http_exception)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    for error_class, mapping in (domain_errors or {}).items():
        app.add_exception_handler(error_class, on_domain_error(mapping))


def _code_of(error_class: type[Exception]) -> str:
    """`VersionConflictError` → `version-conflict`."""
    name = error_class.__name__.removesuffix("Error")
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
