"""The shared body reader: JSON, multipart field by field, or multipart with the JSON in one
field; every refusal a 422 problem naming its field, or a 415 for other media types."""

from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict

from gridcase_runtime.bodies import body_doc, read_body
from gridcase_runtime.problems import install_problem_handlers


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    weight: int = 1


def build() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/fields", openapi_extra=body_doc(Note, max_photos=2))
    async def by_fields(request: Request) -> dict[str, Any]:
        note, photos = await read_body(request, Note, max_files=2)
        return {**note.model_dump(), "photos": [len(photo) for photo in photos]}

    @app.post("/one-field", openapi_extra=body_doc(Note, max_photos=2, json_field="note"))
    async def by_one_field(request: Request) -> dict[str, Any]:
        note, photos = await read_body(request, Note, max_files=2, json_field="note")
        return {**note.model_dump(), "photos": [len(photo) for photo in photos]}

    return app


@pytest.fixture
async def http() -> Any:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


PHOTO = ("photos", ("a.jpg", b"abc", "image/jpeg"))


async def test_each_form_of_the_same_body_is_read_alike(http: httpx.AsyncClient) -> None:
    expected = {"text": "hi", "weight": 2, "photos": []}
    assert (await http.post("/fields", json={"text": "hi", "weight": 2})).json() == expected
    by_fields = await http.post("/fields", data={"text": "hi", "weight": "2"}, files=[PHOTO])
    assert by_fields.json() == {**expected, "photos": [3]}
    note = orjson.dumps({"text": "hi", "weight": 2}).decode()
    one_field = await http.post("/one-field", data={"note": note}, files=[PHOTO, PHOTO])
    assert one_field.json() == {**expected, "photos": [3, 3]}
    assert (await http.post("/one-field", json={"text": "hi", "weight": 2})).json() == expected


def refusal(response: httpx.Response) -> tuple[int, str | None, str]:
    assert response.headers["content-type"] == "application/problem+json"
    document = response.json()
    return response.status_code, document["field"], document["errors"][0]["type"]


@pytest.mark.parametrize(
    ("path", "request_args", "expected"),
    [
        ("/fields", {"json": {"weight": 1}}, (422, "text", "missing")),
        (
            "/fields",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            (422, None, "json_invalid"),
        ),
        ("/fields", {"json": [1]}, (422, None, "object_type")),
        (
            "/fields",
            {"data": {"text": "a"}, "files": [("other", ("a", b"x"))]},
            (422, "other", "file"),
        ),
        ("/fields", {"data": {"text": "a"}, "files": [PHOTO] * 3}, (422, "photos", "multipart")),
        ("/one-field", {"data": {"note": "{"}, "files": [PHOTO]}, (422, "note", "json_invalid")),
        (
            "/one-field",
            {"data": {"note": '{"text": 1}'}, "files": [PHOTO]},
            (422, "note.text", "string_type"),
        ),
        ("/one-field", {"data": {"x": "1"}, "files": [PHOTO]}, (422, "x", "extra_forbidden")),
        ("/one-field", {"files": [PHOTO]}, (422, "note", "missing")),
    ],
)
async def test_each_refusal_names_its_field(
    http: httpx.AsyncClient,
    path: str,
    request_args: dict[str, Any],
    expected: tuple[int, str | None, str],
) -> None:
    assert refusal(await http.post(path, **request_args)) == expected


async def test_other_media_types_get_415(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/fields", content=b"text=hi", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


def test_the_document_describes_both_forms() -> None:
    paths = build().openapi()["paths"]
    by_fields = paths["/fields"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert set(by_fields["schema"]["properties"]) == {"text", "weight", "photos"}
    one_field = paths["/one-field"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert one_field["schema"]["required"] == ["note"]
    assert set(one_field["schema"]["properties"]) == {"note", "photos"}
