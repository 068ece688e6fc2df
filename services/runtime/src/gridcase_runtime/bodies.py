"""Request bodies that come as JSON, or as multipart with the same fields plus `photos`
files, read by the route itself (so a route can take photos and stay one route)."""

from typing import Any, TypeVar

import orjson
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, model: type[M], *, max_files: int) -> tuple[M, list[bytes]]:
    """The validated fields and the raw photo files; a 415 for other media types and a 422
    naming the field for anything that does not fit `model`."""
    content_type = request.headers.get("content-type", "")
    files: list[bytes] = []
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=max_files, max_fields=50) as form:
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
            data = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError as error:
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


def body_doc(model: type[BaseModel], *, max_photos: int = 0) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads `model` with `read_body`: JSON, or
    multipart with the same fields (and up to `max_photos` photo files)."""
    schema = model.model_json_schema()
    schema = _inline_refs(schema, schema.get("$defs", {}))
    multipart = {**schema, "properties": dict(schema["properties"])}
    if max_photos:
        multipart["properties"]["photos"] = {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "maxItems": max_photos,
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
