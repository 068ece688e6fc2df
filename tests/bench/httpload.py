"""HTTP load from separate processes, so the generator never shares an event loop (or a GIL)
with what it measures.

Open loop (`rate` set): request i of the run is due at start + i / rate whatever happened to
the requests before it; its latency is measured from that intended send time, so a stalled
server shows up in the tail instead of silently slowing the generator (no coordinated
omission). Closed loop (`rate=None`): every connection sends its next request as soon as the
previous answer arrived, which measures capacity (requests per second at saturation).

Two clients: a minimal HTTP/1.1 keep-alive client on asyncio streams ("raw", the default,
cheap enough to saturate a one-worker FastAPI app from one process) and httpx with a
keep-alive pool ("httpx"). Only 127.0.0.1 is ever contacted; every run is bounded in time.
"""

import asyncio
import multiprocessing
import queue
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import uvloop
from hdrh.histogram import HdrHistogram

from tests.bench.workload import report_body, volunteer_tokens

HOST = "127.0.0.1"
MAX_LATENCY_US = 120_000_000
IDLE_LIMIT_S = 4.0
"""A keep-alive connection idle longer is reopened rather than reused: the services
(uvicorn) close theirs after 5 s idle, and a request sent as the server closes is lost."""


def new_histogram() -> HdrHistogram:
    """Microseconds, 1 µs to 120 s, three significant digits."""
    return HdrHistogram(1, MAX_LATENCY_US, 3)


@dataclass(frozen=True)
class Target:
    port: int
    path: str = "/v1/reports"
    authenticated: bool = True
    """Send a volunteer bearer token (a different volunteer for consecutive requests)."""


@dataclass(frozen=True)
class Load:
    rate: float | None
    """Arrivals per second over all processes; None: closed loop."""
    duration_s: float
    connections: int = 64
    """Keep-alive connections over all processes (requests beyond them wait, and that wait
    counts in their latency)."""
    processes: int = 1
    timeout_s: float = 10.0
    first_sequence: int = 0
    """Number of the first report, so that runs never repeat a report."""
    client: str = "raw"


@dataclass
class LoadResult:
    load: Load
    offered: int = 0
    completed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    retry_after_missing: Counter[int] = field(default_factory=Counter)
    """429/503 answers that lacked a Retry-After header, by status."""
    errors: Counter[str] = field(default_factory=Counter)
    """Requests without an answer: timeouts and connection errors, by kind."""
    elapsed_s: float = 0.0
    max_send_delay_ms: float = 0.0
    """How far behind its schedule the generator ever sent (its own saturation)."""
    latency_2xx: HdrHistogram = field(default_factory=new_histogram)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def ok_rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def failures(self) -> int:
        """Anything but 2xx, or 429/503 carrying Retry-After."""
        shed = sum(
            n - self.retry_after_missing[status]
            for status, n in self.statuses.items()
            if status in (429, 503)
        )
        return self.offered - self.ok - shed

    def percentile_ms(self, percentile: float) -> float | None:
        if not self.latency_2xx.get_total_count():
            return None
        return float(self.latency_2xx.get_value_at_percentile(percentile)) / 1000

    def summary(self) -> dict[str, Any]:
        return {
            "rate": self.load.rate,
            "duration_s": self.load.duration_s,
            "connections": self.load.connections,
            "processes": self.load.processes,
            "client": self.load.client,
            "offered": self.offered,
            "completed": self.completed,
            "ok_2xx": self.ok,
            "ok_rate_per_s": round(self.ok_rate, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "retry_after_missing": {str(k): v for k, v in self.retry_after_missing.items()},
            "errors": dict(self.errors),
            "failures": self.failures,
            "elapsed_s": round(self.elapsed_s, 3),
            "max_send_delay_ms": round(self.max_send_delay_ms, 1),
            "latency_2xx_ms": {f"p{p}": self.percentile_ms(p) for p in (50, 90, 99, 99.9, 100)},
        }


class Sender(Protocol):
    async def start(self) -> None: ...

    async def send(self, body: bytes, token: str | None) -> tuple[int, bool]:
        """Status code, and whether the answer carried Retry-After."""
        ...

    async def close(self) -> None: ...


class _Connection:
    """One HTTP/1.1 keep-alive connection; reopened after any error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used_at = time.monotonic()

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        if self.reader is not None and (
            self.reader.at_eof() or time.monotonic() - self.used_at > IDLE_LIMIT_S
        ):
            self.drop()  # closed by the server while idle, or about to be
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.used_at = time.monotonic()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get(b"connection", b"").lower() == b"close":
            self.drop()
        return status, b"retry-after" in headers

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class RawSender:
    """Prebuilt request bytes over a pool of keep-alive connections, the most recently
    used first (as client pools do), so that connections idle past the server's keep-alive
    timeout are few."""

    def __init__(self, target: Target, connections: int) -> None:
        self.target = target
        self.idle: asyncio.LifoQueue[_Connection] = asyncio.LifoQueue()
        self.connections = [_Connection(target.port) for _ in range(connections)]

    async def start(self) -> None:
        for connection in self.connections:
            connection.reader, connection.writer = await asyncio.open_connection(
                HOST, self.target.port
            )
            self.idle.put_nowait(connection)

    async def send(self, body: bytes, token: str | None) -> tuple[int, bool]:
        connection = await self.idle.get()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        request = (
            f"POST {self.target.path} HTTP/1.1\r\nHost: {HOST}:{self.target.port}\r\n"
            f"Content-Type: application/json\r\n{auth}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            return await connection.exchange(request)
        except BaseException:
            connection.drop()
            raise
        finally:
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self.connections:
            connection.drop()


class HttpxSender:
    """httpx.AsyncClient over HTTP/1.1 with a keep-alive pool of the same size."""

    def __init__(self, target: Target, connections: int) -> None:
        self.url = f"http://{HOST}:{target.port}{target.path}"
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=None,
        )

    async def start(self) -> None:
        return None

    async def send(self, body: bytes, token: str | None) -> tuple[int, bool]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.client.post(self.url, content=body, headers=headers)
        return response.status_code, "retry-after" in response.headers

    async def close(self) -> None:
        await self.client.aclose()


def _share(total: int, processes: int, index: int) -> int:
    return total // processes + (1 if index < total % processes else 0)


async def _generate(
    target: Target,
    load: Load,
    index: int,
    tokens: list[str | None],
    ready: Any,
    go: Any,
    start_at: Any,
) -> LoadResult:
    connections = max(1, _share(load.connections, load.processes, index))
    sender: Sender = (
        HttpxSender(target, connections)
        if load.client == "httpx"
        else RawSender(target, connections)
    )
    await sender.start()
    result = LoadResult(load)
    ready.put(index)
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    start = float(start_at.value)
    end = start + load.duration_s
    in_flight: set[asyncio.Task[None]] = set()

    async def one(sequence: int, intended: float | None) -> None:
        sent = time.monotonic() if intended is None else intended
        try:
            async with asyncio.timeout(sent + load.timeout_s - time.monotonic()):
                status, retry_after = await sender.send(
                    report_body(sequence), tokens[sequence % len(tokens)]
                )
        except TimeoutError:
            result.errors["timeout"] += 1
            return
        except (
            OSError,
            asyncio.IncompleteReadError,
            ValueError,
            IndexError,
            httpx.HTTPError,
        ) as error:
            result.errors[type(error).__name__] += 1
            return
        result.completed += 1
        result.statuses[status] += 1
        if status in (429, 503) and not retry_after:
            result.retry_after_missing[status] += 1
        if 200 <= status < 300:
            micros = int((time.monotonic() - sent) * 1e6)
            result.latency_2xx.record_value(min(max(1, micros), MAX_LATENCY_US))

    await asyncio.sleep(max(0.0, start - time.monotonic()))
    if load.rate is None:

        async def closed_loop(lane: int) -> None:
            sequence = load.first_sequence + index + lane * load.processes
            stride = load.processes * connections
            while time.monotonic() < end:
                result.offered += 1
                await one(sequence, None)
                sequence += stride

        await asyncio.gather(*(closed_loop(lane) for lane in range(connections)))
    else:
        interval = load.processes / load.rate
        first = start + index / load.rate
        count = max(0, int((load.duration_s - index / load.rate) / interval + 0.999999))
        j = 0
        while j < count:
            now = time.monotonic()
            while j < count and first + j * interval <= now:
                intended = first + j * interval
                result.max_send_delay_ms = max(result.max_send_delay_ms, (now - intended) * 1000)
                sequence = load.first_sequence + index + j * load.processes
                task = asyncio.create_task(one(sequence, intended))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                j += 1
            if j < count:
                await asyncio.sleep(max(0.0, first + j * interval - time.monotonic()))
        result.offered = count
        if in_flight:
            await asyncio.wait(in_flight)
    result.elapsed_s = (
        load.duration_s if load.rate is None else max(load.duration_s, time.monotonic() - start)
    )
    await sender.close()
    return result


def _worker(
    target: Target,
    load: Load,
    index: int,
    tokens: list[str | None],
    ready: Any,
    go: Any,
    start_at: Any,
    results: Any,
) -> None:
    uvloop.install()
    try:
        result = asyncio.run(_generate(target, load, index, tokens, ready, go, start_at))
    except BaseException as error:
        results.put({"index": index, "error": repr(error)})
        raise
    results.put(
        {
            "index": index,
            "offered": result.offered,
            "completed": result.completed,
            "statuses": dict(result.statuses),
            "retry_after_missing": dict(result.retry_after_missing),
            "errors": dict(result.errors),
            "elapsed_s": result.elapsed_s,
            "max_send_delay_ms": result.max_send_delay_ms,
            "histogram": result.latency_2xx.encode(),
        }
    )


def run_load(target: Target, load: Load) -> LoadResult:
    """Runs `load` against 127.0.0.1:`target.port` from `load.processes` new processes
    (spawned, so they inherit no threads or sockets) and merges what they measured."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    go = context.Event()
    start_at = context.Value("d", 0.0)
    tokens: list[str | None] = [*volunteer_tokens()] if target.authenticated else [None]
    workers = [
        context.Process(
            target=_worker,
            args=(target, load, index, tokens, ready, go, start_at, results),
            daemon=True,
        )
        for index in range(load.processes)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=60)
        start_at.value = time.monotonic() + 0.2
        go.set()
        merged = LoadResult(load)
        for _ in workers:
            part = results.get(timeout=load.duration_s + load.timeout_s + 60)
            if "error" in part:
                raise RuntimeError(f"load generator {part['index']} failed: {part['error']}")
            merged.offered += part["offered"]
            merged.completed += part["completed"]
            merged.statuses.update(part["statuses"])
            merged.retry_after_missing.update(part["retry_after_missing"])
            merged.errors.update(part["errors"])
            merged.elapsed_s = max(merged.elapsed_s, part["elapsed_s"])
            merged.max_send_delay_ms = max(merged.max_send_delay_ms, part["max_send_delay_ms"])
            merged.latency_2xx.add(HdrHistogram.decode(part["histogram"]))
    except queue.Empty as error:
        raise RuntimeError("a load generator process did not report in time") from error
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    return merged
