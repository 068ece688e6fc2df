"""Body limits answer 413 before the body is buffered, for JSON and multipart alike; an
answer sent before the body was read waits for the body to be discarded."""

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
        assert too_big.json()["errors"][0]["type"] == "too_large"
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


class Wire:
    """The server's side of one request: body chunks to hand out, and what was sent."""

    def __init__(self, chunks: int, chunk: bytes = b"x" * 10) -> None:
        self.pending = [
            {"type": "http.request", "body": chunk, "more_body": n < chunks - 1}
            for n in range(chunks)
        ]
        self.log: list[str] = []

    async def receive(self) -> dict[str, Any]:
        if not self.pending:
            return {"type": "http.disconnect"}
        self.log.append("read")
        return self.pending.pop(0)

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.log.append(f"start {message['status']} {dict(message['headers'])}")
        else:
            self.log.append(f"body more={message.get('more_body', False)}")


async def answer_429_unread(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 429, "headers": []})
    await send({"type": "http.response.body", "body": b"slow down"})


def scope_of(**headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


async def test_an_answer_before_the_body_is_held_open_while_the_body_is_discarded() -> None:
    wire = Wire(chunks=3)
    middleware = BodySizeLimitMiddleware(answer_429_unread, json_limit=100, multipart_limit=100)
    await middleware(scope_of(content_length="30"), wire.receive, wire.send)
    assert wire.log == [
        "start 429 {b'connection': b'close'}",
        "body more=True",
        "read",
        "read",
        "read",
        "body more=False",
    ]


async def test_discarding_stops_at_its_byte_bound() -> None:
    wire = Wire(chunks=50)
    middleware = BodySizeLimitMiddleware(
        answer_429_unread, json_limit=100, multipart_limit=100, drain_bytes=25
    )
    await middleware(scope_of(content_length="500"), wire.receive, wire.send)
    assert wire.log.count("read") == 3
    assert wire.log[-1] == "body more=False"


async def test_a_client_awaiting_100_continue_has_sent_nothing_to_discard() -> None:
    wire = Wire(chunks=3)
    middleware = BodySizeLimitMiddleware(answer_429_unread, json_limit=100, multipart_limit=100)
    await middleware(scope_of(content_length="30", expect="100-continue"), wire.receive, wire.send)
    assert wire.log == ["start 429 {}", "body more=False"]
