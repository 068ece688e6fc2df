"""Body limits answer 413 before the body is buffered, for JSON and multipart alike."""

from typing import Any

import httpx
from fastapi import FastAPI, Request

from gridcase_runtime.limits import BodySizeLimitMiddleware


def build() -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodySizeLimitMiddleware, json_limit=100, multipart_limit=1000)

    @app.post("/json")
    async def take_json(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    @app.post("/form")
    async def take_form(request: Request) -> dict[str, int]:
        form = await request.form()
        return {"fields": len(form)}

    return app


async def test_limits_per_content_type() -> None:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.post("/json", json={"a": 1})).status_code == 200
        too_big = await http.post("/json", json={"a": "x" * 200})
        assert too_big.status_code == 413
        assert too_big.json()["detail"][0]["type"] == "too_large"
        small_file = {"photo": ("a.bin", b"x" * 500)}
        assert (await http.post("/form", files=small_file)).status_code == 200
        big_file = {"photo": ("a.bin", b"x" * 5000)}
        assert (await http.post("/form", files=big_file)).status_code == 413


async def test_a_streamed_body_without_length_is_cut_off() -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b'{"a": "' + b"x" * 50 + b'"}'

    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.post(
            "/json", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
