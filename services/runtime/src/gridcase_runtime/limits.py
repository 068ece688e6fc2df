"""Request body limits enforced while the body streams in, before it is buffered."""

import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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


class BodySizeLimitMiddleware:
    """Answers 413 when a body is larger than its limit: at once when Content-Length says
    so, otherwise as soon as the streamed bytes pass it. JSON bodies get `json_limit`;
    multipart bodies get `multipart_limit`; others get the smaller of the two."""

    def __init__(self, app: ASGIApp, *, json_limit: int, multipart_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.multipart_limit = multipart_limit

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
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if not response_started:
                await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = orjson.dumps({"detail": [_detail(limit)]})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
