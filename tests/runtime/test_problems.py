"""Every error of a native API is an RFC 9457 problem, mapped in one place per app."""

from collections.abc import Mapping

import httpx
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

from gridcase_runtime.problems import PROBLEM_JSON, Problem, install_problem_handlers, problem


class ShelfEmptyError(Exception):
    pass


class StaleError(Exception):
    pass


class Body(BaseModel):
    count: int


def build() -> FastAPI:
    app = FastAPI()

    def plain_text(
        _request: Request, status: int, message: str, headers: Mapping[str, str] | None
    ) -> Response:
        return Response(f"{status} {message}", status, headers=dict(headers or {}))

    install_problem_handlers(
        app,
        {
            ShelfEmptyError: 404,
            StaleError: lambda _request, error: Problem(
                problem(409, str(error), code="stale", current_version=7), {"ETag": '"7"'}
            ),
        },
        other_formats={"/legacy": plain_text},
    )

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"Retry-After": "3"})

    @app.get("/coded")
    async def coded() -> None:
        raise HTTPException(412, {"error": "precondition-failed", "message": "no ETag"})

    @app.post("/items")
    async def items(body: Body) -> Body:
        return body

    @app.get("/shelf")
    async def shelf() -> None:
        raise ShelfEmptyError("no such shelf")

    @app.get("/stale")
    async def stale() -> None:
        raise StaleError("moved on")

    @app.get("/legacy/thing")
    async def legacy() -> None:
        raise ShelfEmptyError("gone")

    return app


async def get(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_an_http_exception_is_a_problem_with_its_headers() -> None:
    response = await get("GET", "/teapot")
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "3"
    assert response.json() == {
        "type": "about:blank",
        "title": "I'm a Teapot",
        "status": 418,
        "detail": "short and stout",
    }


async def test_a_coded_error_names_its_type() -> None:
    response = await get("GET", "/coded")
    assert response.json() == {
        "type": "urn:gridcase:problem:precondition-failed",
        "title": "Precondition Failed",
        "status": 412,
        "detail": "no ETag",
    }


async def test_a_validation_problem_names_the_field() -> None:
    response = await get("POST", "/items", json={"count": "many"})
    body = response.json()
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert body["type"] == "urn:gridcase:problem:invalid-request"
    assert body["field"] == "count"
    assert body["detail"].startswith("count: ")
    assert [(e["loc"], e["field"], e["type"]) for e in body["errors"]] == [
        (["body", "count"], "count", "int_parsing")
    ]


async def test_domain_errors_map_by_status_or_by_function() -> None:
    shelf = await get("GET", "/shelf")
    assert shelf.json() == {
        "type": "urn:gridcase:problem:shelf-empty",
        "title": "Not Found",
        "status": 404,
        "detail": "no such shelf",
    }
    stale = await get("GET", "/stale")
    assert stale.status_code == 409
    assert stale.headers["etag"] == '"7"'
    assert stale.json()["current_version"] == 7


async def test_routes_of_another_format_keep_it() -> None:
    response = await get("GET", "/legacy/thing")
    assert (response.status_code, response.text) == (404, "404 gone")
