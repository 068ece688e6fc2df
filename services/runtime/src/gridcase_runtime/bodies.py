"""Request bodies that come as JSON, or as multipart with `photos` files, read by the route
itself (so a route can take photos and stay one route). A multipart body carries the fields
one by one, or, where the route names a `json_field`, the whole JSON object in that one
field."""

from typing import Any, TypeVar

import orjson
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

M = TypeVar("M", bound=BaseModel)

PHOTOS = "photos"


def _invalid(loc: list[str], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


async def read_body(
    request: Request, model: type[M], *, max_files: int, json_field: str | None = None
) -> tuple[M, list[bytes]]:
    """The validated fields and the raw photo files; a 415 for other media types and a 422
    naming the field for anything that does not fit `model` (the error's `body` is what was
    sent, when it was a JSON object)."""
    content_type = request.headers.get("content-type", "").lower()
    prefix = ["body"]
    files: list[bytes] = []
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=max_files, max_fields=1 if json_field else 50)
        except StarletteHTTPException as error:
            # The parser names the limit passed; only photos may be files.
            at = [*prefix, PHOTOS] if "files" in str(error.detail) else prefix
            raise _invalid(at, str(error.detail), "multipart") from error
        try:
            data, files = await _form_fields(form, json_field)
        finally:
            await form.close()
        if json_field is not None:
            prefix = [*prefix, json_field]
            data = _json_object(data[json_field], prefix)
    else:
        raw = await request.body()
        if raw and not content_type.startswith("application/json"):
            raise HTTPException(415, "send application/json or multipart/form-data")
        data = _json_object(raw, prefix) if raw else {}
    try:
        return model.model_validate(data), files
    except ValidationError as error:
        errors = [{**e, "loc": [*prefix, *e["loc"]]} for e in error.errors(include_url=False)]
        raise RequestValidationError(errors, body=data) from error


async def _form_fields(
    form: FormData, json_field: str | None
) -> tuple[dict[str, Any], list[bytes]]:
    """The text fields and the photo files of a multipart form."""
    data: dict[str, Any] = {}
    files: list[bytes] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != PHOTOS:
                raise _invalid(["body", name], "only photos may be files", "file")
            files.append(await value.read())
        elif json_field is not None and name != json_field:
            raise _invalid(["body", name], "unexpected form field", "extra_forbidden")
        else:
            data[name] = value
    if json_field is not None and json_field not in data:
        raise _invalid(["body", json_field], "Field required", "missing")
    return data, files


def _json_object(raw: bytes | str, loc: list[str]) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise _invalid(loc, f"invalid JSON: {error}", "json_invalid") from error
    if not isinstance(data, dict):
        raise _invalid(loc, "expected a JSON object", "object_type")
    return data


def body_doc(
    model: type[BaseModel], *, max_photos: int = 0, json_field: str | None = None
) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads `model` with `read_body`: JSON, or
    multipart with the same fields, or the JSON in `json_field` (and up to `max_photos`
    photo files)."""
    schema = model.model_json_schema()
    schema = _inline_refs(schema, schema.get("$defs", {}))
    if json_field is None:
        multipart = {**schema, "properties": dict(schema["properties"])}
    else:
        text = {"type": "string", "description": f"the {json_field} as JSON"}
        multipart = {"type": "object", "required": [json_field], "properties": {json_field: text}}
    if max_photos:
        multipart["properties"][PHOTOS] = {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "maxItems": max_photos,
            "description": "JPEG, PNG or WebP, 10 MB each",
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


def _inline_refs(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline_refs(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions)
        return {k: _inline_refs(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(item, definitions) for item in schema]
    return schema
