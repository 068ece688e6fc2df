"""Long-lived coroutines (consumers, outbox relays, timers) running beside the HTTP server."""

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from gridcase_runtime.outages import TRANSIENT_ERRORS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worker:
    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    stop: Callable[[], None]


class Periodic:
    """Runs `tick` every `interval_s` until stopped. A failed tick is logged and the next
    one tries again: a timer must outlive a passing database or broker error."""

    def __init__(
        self, name: str, tick: Callable[[], Coroutine[Any, Any, object]], interval_s: float
    ) -> None:
        self.name = name
        self.tick = tick
        self.interval_s = interval_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except TRANSIENT_ERRORS as error:
                log.warning("%s will retry: %r", self.name, error)
            except Exception:
                log.exception("%s failed; the next tick tries again", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval_s)

    @property
    def worker(self) -> Worker:
        return Worker(self.name, self.run, self.stop)


@asynccontextmanager
async def running(workers: list[Worker], *, stop_timeout_s: float = 20.0) -> AsyncIterator[None]:
    """Starts `workers` and stops them when the block ends (SIGTERM, Ctrl-C).

    A worker that dies with an error takes the process down gracefully (SIGTERM to
    itself), so that a supervisor or Kubernetes restarts it rather than leaving a service
    that answers HTTP but no longer consumes."""
    stopping = False

    def on_done(task: asyncio.Task[None]) -> None:
        if stopping or task.cancelled() or task.exception() is None:
            return
        log.error("worker %s failed; shutting down", task.get_name(), exc_info=task.exception())
        os.kill(os.getpid(), signal.SIGTERM)

    tasks = []
    for worker in workers:
        task = asyncio.create_task(worker.run(), name=worker.name)
        task.add_done_callback(on_done)
        tasks.append(task)
    try:
        yield
    finally:
        stopping = True
        for worker in workers:
            worker.stop()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=stop_timeout_s)
            for task in pending:
                log.warning("worker %s did not stop in time; cancelling", task.get_name())
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
