"""Runs a module as __main__ under cProfile, every thread included, and writes the merged
statistics when it exits: `python -m tests.bench.profiled OUT.prof MODULE`.

`python -m cProfile` sees only the main thread, but a gridcase service does real work in
others: kafka-python's polls and sends run in asyncio.to_thread, and motor runs pymongo (BSON
encoding, socket I/O) in its executor threads. So every thread started after this point gets
its own profiler, and all of them are merged at exit (SIGTERM ends a service gracefully).
The profilers count each thread's CPU time (time.thread_time), not wall time, so threads
waiting in poll() or on a lock do not hide where the CPU goes. Start-up (imports) is in
the profile too; it is easy to tell apart (compile, importlib)."""

import cProfile
import pstats
import runpy
import signal
import sys
import threading
import time
from typing import Any

_profilers: list[cProfile.Profile] = []
_lock = threading.Lock()
_original_run = threading.Thread.run


def _profiled_run(self: threading.Thread) -> None:
    profiler = cProfile.Profile(time.thread_time)
    with _lock:
        _profilers.append(profiler)
    profiler.enable()
    try:
        _original_run(self)
    finally:
        profiler.disable()


class _Snapshot:
    """What pstats needs from a profiler, taken without disabling it from another thread."""

    def __init__(self, profiler: cProfile.Profile) -> None:
        self.profiler = profiler
        self.stats: dict[Any, Any] = {}

    def create_stats(self) -> None:
        if not self.stats:
            self.profiler.snapshot_stats()
            self.stats = self.profiler.stats  # type: ignore[attr-defined]


def main() -> None:
    output, module = sys.argv[1], sys.argv[2]
    sys.argv = [module]
    threading.Thread.run = _profiled_run  # type: ignore[method-assign]
    # uvicorn re-raises the SIGTERM it handled once it has shut down; with the default
    # handler that would kill the process before the statistics are written.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    main_profiler = cProfile.Profile(time.thread_time)
    main_profiler.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        main_profiler.disable()
        stats = pstats.Stats(main_profiler)
        with _lock:
            for profiler in _profilers:
                snapshot = _Snapshot(profiler)
                snapshot.create_stats()
                if snapshot.stats:  # a thread that has not finished a single call yet
                    stats.add(snapshot)
        stats.dump_stats(output)


if __name__ == "__main__":
    main()
