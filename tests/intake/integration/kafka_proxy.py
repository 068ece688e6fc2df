"""A TCP proxy in front of the real Kafka broker that a test can cut and restore.

Kafka clients connect to the addresses a broker advertises, not to the bootstrap address,
so the proxy rewrites the broker addresses in Metadata and FindCoordinator responses to
its own: every connection of the client then goes through it, and `cut()` makes the broker
unreachable for that client only (the shared broker keeps running for everyone else).

The proxy runs its own event loop in a thread, like a separate network element: the
client's blocking calls cannot stall it."""

import asyncio
import contextlib
import struct
import threading
from collections.abc import Coroutine
from typing import Any

from kafka.protocol.metadata import FindCoordinatorResponse, MetadataResponse

METADATA, FIND_COORDINATOR = 3, 10


class KafkaProxy:
    """Use `start()`, `cut()`, `restore()` and `stop()` from any thread."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.host = "127.0.0.1"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self._call(self._listen())

    def cut(self) -> None:
        """Refuses new connections and drops the open ones."""
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _stop(self) -> None:
        await self._cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            broker_reader, broker = await asyncio.open_connection(*self.upstream)
        except OSError:
            client.close()
            return
        self._writers.update((client, broker))
        pending: dict[int, tuple[int, int]] = {}
        pumps = [
            asyncio.create_task(self._requests(client_reader, broker, pending)),
            asyncio.create_task(self._responses(broker_reader, client, pending)),
        ]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
            self._tasks.discard(task)
        for writer in (client, broker):
            writer.close()
            self._writers.discard(writer)

    @staticmethod
    async def _frame(reader: asyncio.StreamReader) -> bytes:
        size = await reader.readexactly(4)
        return size + await reader.readexactly(struct.unpack(">i", size)[0])

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        broker: asyncio.StreamWriter,
        pending: dict[int, tuple[int, int]],
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                frame = await self._frame(reader)
                api_key, api_version, correlation = struct.unpack(">hhi", frame[4:12])
                if api_key in (METADATA, FIND_COORDINATOR):
                    pending[correlation] = (api_key, api_version)
                broker.write(frame)
                await broker.drain()

    async def _responses(
        self,
        reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        pending: dict[int, tuple[int, int]],
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                frame = await self._frame(reader)
                (correlation,) = struct.unpack(">i", frame[4:8])
                if correlation in pending:
                    frame = self._rewrite(frame, *pending.pop(correlation))
                client.write(frame)
                await client.drain()

    def _rewrite(self, frame: bytes, api_key: int, api_version: int) -> bytes:
        message_class = MetadataResponse if api_key == METADATA else FindCoordinatorResponse
        response = message_class.decode(frame, version=api_version, header=True, framed=True)
        if api_key == METADATA:
            for broker in response.brokers:
                broker.host, broker.port = self.host, self.port
        elif api_version >= 4:
            for coordinator in response.coordinators:
                coordinator.host, coordinator.port = self.host, self.port
        else:
            response.host, response.port = self.host, self.port
        encoded: bytes = response.encode(header=True, framed=True)
        return encoded
