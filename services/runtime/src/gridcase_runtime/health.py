"""Liveness (/healthz) and readiness (/readyz) for every service."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises (or times out) when a dependency is not usable."""


class NotReadyError(Exception):
    """A dependency is not usable, in its own few words ("no producer id")."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def _state(result: BaseException | None) -> str:
    """A check's outcome as a state word: never an exception's text, which may carry
    addresses and internals."""
    if result is None:
        return "ok"
    if isinstance(result, NotReadyError):
        return result.state
    if isinstance(result, TimeoutError):
        return "timeout"
    return "unreachable"


health_router = APIRouter(tags=["operations"])


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Live: the process answers."""
    return {"status": "ok"}


READINESS = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["ready", "checks"],
                "properties": {
                    "ready": {"type": "boolean"},
                    "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        }
    }
}


@health_router.get(
    "/readyz",
    responses={
        200: {"description": "every dependency answered", **READINESS},
        503: {"description": "a dependency did not; `checks` says which", **READINESS},
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Ready: every dependency (Kafka, MongoDB, ...) answered within two seconds. Each
    check reports "ok" or its state ("unreachable", "timeout", "no producer id", ...)."""
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    results = await asyncio.gather(
        *(asyncio.wait_for(check(), timeout=2.0) for check in checks.values()),
        return_exceptions=True,
    )
    report = {
        name: _state(result if isinstance(result, BaseException) else None)
        for name, result in zip(checks, results, strict=True)
    }
    ready = all(value == "ok" for value in report.values())
    return JSONResponse({"ready": ready, "checks": report}, status_code=200 if ready else 503)


def kafka_reachable(bootstrap_servers: str) -> ReadinessCheck:
    """A check that some bootstrap server accepts a TCP connection."""

    async def check() -> None:
        errors = []
        for server in bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
            except OSError as error:
                errors.append(f"{server}: {error}")
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise ConnectionError("; ".join(errors))

    return check
