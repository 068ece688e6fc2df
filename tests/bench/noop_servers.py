"""The two reference servers the HTTP figures are compared with, each run as its own process
(`python -m tests.bench.noop_servers fastapi|raw PORT`):

- fastapi: B_http, a no-op FastAPI endpoint validating intake's report model, served by one
  uvicorn worker with the settings gridcase services use (uvloop, httptools, no access log);
- raw: a constant answer from a bare asyncio protocol, to find the load generator's own
  ceiling (what the generator can drive when the server costs almost nothing).
"""

import asyncio
import sys
from typing import Any

import uvicorn
import uvloop
from fastapi import FastAPI, status

from tests.bench.workload import ReportModel

ANSWER = b'{"case_id":"GC-20250101-00000000","status":"reported"}'


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/reports", status_code=status.HTTP_201_CREATED)
    async def accept(report: ReportModel) -> dict[str, str]:
        return {"case_id": "GC-20250101-00000000", "status": "reported"}

    return app


class ConstantAnswer(asyncio.Protocol):
    """Answers every complete HTTP/1.1 request (Content-Length bodies) with 201 and ANSWER."""

    RESPONSE = (
        b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(ANSWER)}\r\n\r\n".encode()
        + ANSWER
    )

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.RESPONSE)


async def serve_raw(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(ConstantAnswer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "raw":
        uvloop.run(serve_raw(port))
    else:
        uvicorn.run(
            fastapi_app(),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )


if __name__ == "__main__":
    main()
