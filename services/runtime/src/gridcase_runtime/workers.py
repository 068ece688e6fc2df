"""Long-lived coroutines (consumers, outbox relays, timers) running beside the HTTP server."""

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Worker:
    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    stop: Callable[[], None]


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
