"""Keep-alive connections under the services' real uvicorn configuration: a client's
pooled connection is never closed under it, and concurrent POSTs with bodies, some
answered before their body is read, all get their answer."""

import asyncio
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI, Request

from gridcase_runtime.app import create_service_app, server_config
from gridcase_runtime.auth import Principal, Role, require_roles
from gridcase_runtime.limits import BodySizeLimitMiddleware
from gridcase_runtime.settings import ServiceSettings
from identity import mint_token

HTTPX_KEEPALIVE_EXPIRY_S = httpx.Limits().keepalive_expiry or 0.0


@asynccontextmanager
async def nothing(_app: FastAPI) -> AsyncIterator[None]:
    yield


def build() -> FastAPI:
    app = create_service_app(
        service="probe",
        settings=ServiceSettings(),
        lifespan=nothing,
        title="probe",
        description="probe",
        readiness_checks={},
    )
    app.add_middleware(BodySizeLimitMiddleware, json_limit=1 << 20, multipart_limit=1 << 20)

    @app.post("/notes")
    async def note(
        request: Request, _who: Annotated[Principal, require_roles(Role.VOLUNTEER)]
    ) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    server = uvicorn.Server(server_config(build(), ServiceSettings(port=free)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.05)
    yield free
    server.should_exit = True
    thread.join(30)


def post(connection: socket.socket, body: bytes) -> bytes:
    """One POST /notes on an open connection, and the start of its answer."""
    token = mint_token(ServiceSettings(), subject="v-1", role=Role.VOLUNTEER)
    connection.sendall(
        b"POST /notes HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return connection.recv(65536)


def test_an_idle_connection_outlives_the_clients_pool(port: int) -> None:
    """httpx reuses a pooled connection until it has been idle for 5 s; the server must not
    close it first, or the client's next request meets a reset connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        assert post(connection, b'{"n": 1}').startswith(b"HTTP/1.1 200")
        time.sleep(HTTPX_KEEPALIVE_EXPIRY_S + 0.5)
        assert post(connection, b'{"n": 2}').startswith(b"HTTP/1.1 200")


async def test_concurrent_keep_alive_posts_all_get_their_answer(port: int) -> None:
    """32 clients share one httpx pool; a fifth of their POSTs have no token and are
    answered 401 before the body is read (the connection then closes)."""
    rng = random.Random(7)
    token = mint_token(ServiceSettings(), subject="v-1", role=Role.VOLUNTEER)
    statuses: Counter[int] = Counter()

    async def client(http: httpx.AsyncClient) -> None:
        for _ in range(10):
            signed = rng.random() >= 0.2
            body = orjson.dumps({"text": "x" * rng.choice([10, 2_000, 60_000, 300_000])})
            answer = await http.post(
                f"http://127.0.0.1:{port}/notes",
                content=body,
                headers={"Content-Type": "application/json"}
                | ({"Authorization": f"Bearer {token}"} if signed else {}),
            )
            assert answer.status_code == (200 if signed else 401)
            if signed:
                assert answer.json() == {"bytes": len(body)}
            statuses[answer.status_code] += 1
            await asyncio.sleep(rng.uniform(0, 0.05))

    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(client(http) for _ in range(32)))
    assert sum(statuses.values()) == 320
    assert statuses[401] > 0
