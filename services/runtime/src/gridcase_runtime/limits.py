"""Request body limits enforced while the body streams in, before it is buffered, and
answers that every client can read, even one that writes its whole body first."""

import asyncio
import contextlib

import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridcase_runtime.problems import PROBLEM_JSON, validation_problem

DRAIN_MAX_BYTES = 128 * 1024 * 1024
"""How much of an unread body is read and discarded after an early answer, at most."""
DRAIN_MAX_SECONDS = 30.0
"""How long an early answer's connection stays open to discard the body, at most (as
nginx's lingering_time)."""


class BodyTooLargeError(HTTPException):
    """Raised from `receive` once the streamed body passes its limit. An HTTPException, so
    FastAPI's body parsing passes it on as a 413 instead of calling it a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, [_detail(limit)])


def _detail(limit: int) -> dict[str, object]:
    return {
        "loc": ["body"],
        "type": "too_large",
        "msg": f"request body is larger than {limit} bytes",
    }


class _Exchange:
    """One request's body as the app reads it, and the app's answer.

    An answer sent before the whole body arrived (413, 401, 429 ...) is written at once
    but held open, its last chunk unsent, while the rest of the body is read and discarded
    (at most `drain_bytes` and `drain_s`); then it ends and the connection closes. Closing
    with the body unread would reset the connection, and a client that writes its whole
    body before reading (Python's http.client, requests, many mobile stacks) would see a
    broken pipe instead of the answer."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        limit: int,
        drain_bytes: int,
        drain_s: float,
    ) -> None:
        headers = dict(scope["headers"])
        self._receive = receive
        self._send = send
        self.limit = limit
        self.drain_bytes = drain_bytes
        self.drain_s = drain_s
        self.received = 0
        self.started = False
        self.body_read = headers.get(b"content-length") == b"0" or (
            b"content-length" not in headers and b"transfer-encoding" not in headers
        )
        self.body_asked = False
        self.awaits_continue = headers.get(b"expect", b"").lower() == b"100-continue"

    @property
    def body_unread(self) -> bool:
        """A body is still on its way: a client that awaits 100 Continue sends it only once
        the app starts reading."""
        return not self.body_read and (self.body_asked or not self.awaits_continue)

    async def receive(self) -> Message:
        self.body_asked = True
        message = await self._receive()
        if message["type"] != "http.request":
            self.body_read = True
            return message
        self.received += len(message.get("body", b""))
        if not message.get("more_body", False):
            self.body_read = True
        if self.received > self.limit:
            raise BodyTooLargeError(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self.body_unread:
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
        elif (
            message["type"] == "http.response.body"
            and not message.get("more_body", False)
            and self.body_unread
        ):
            await self._send({**message, "more_body": True})
            await self._discard_rest()
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await self._send(message)

    async def _discard_rest(self) -> None:
        discarded = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.drain_s):
                while discarded <= self.drain_bytes:
                    message = await self._receive()
                    if message["type"] != "http.request":
                        return
                    discarded += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return

    async def too_large(self) -> None:
        body = orjson.dumps(validation_problem(413, [_detail(self.limit)]))
        await self.send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await self.send({"type": "http.response.body", "body": body})


class BodySizeLimitMiddleware:
    """Answers 413 when a body is larger than its limit: at once when Content-Length says
    so, otherwise as soon as the streamed bytes pass it. JSON bodies get `json_limit`;
    multipart bodies get `multipart_limit`; others get the smaller of the two. Any answer
    sent before the body was read is held open while the body is discarded (`_Exchange`)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        json_limit: int,
        multipart_limit: int,
        drain_bytes: int = DRAIN_MAX_BYTES,
        drain_s: float = DRAIN_MAX_SECONDS,
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.multipart_limit = multipart_limit
        self.drain_bytes = drain_bytes
        self.drain_s = drain_s

    def _limit(self, scope: Scope) -> int:
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        if content_type.startswith(b"multipart/"):
            return self.multipart_limit
        if content_type.startswith(b"application/json"):
            return self.json_limit
        return min(self.json_limit, self.multipart_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(
            scope,
            receive,
            send,
            limit=self._limit(scope),
            drain_bytes=self.drain_bytes,
            drain_s=self.drain_s,
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > exchange.limit:
            await exchange.too_large()
            return
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BodyTooLargeError:
            if not exchange.started:
                await exchange.too_large()
