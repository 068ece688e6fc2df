"""Profiles a service, by default the slowest stage: restarts it under cProfile (all
threads, see profiled.py) with the environment infra.py gives it, drives intake at saturation so
the stage is busy, stops it with SIGTERM and reports where its CPU time went."""

import io
import pstats
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.pipeline import Pipeline, consumer_rates
from tests.bench.system import SERVICES, Service, System

ROOT = Path(__file__).resolve().parents[2]
MODULES = {
    "intake": "gridcase_intake",
    "assignment": "gridcase_assignment",
    "remediation-tracking": "gridcase_remediation",
    "statistics": "gridcase_stats",
}


def slowest_stage(figures: dict[str, Any]) -> Service:
    """The service with the lowest throughput: intake's accept rate against each consumer's
    catch-up rate (a consumer that never fell behind is not the bottleneck)."""
    capacity = figures.get("pipeline", {}).get("capacity", {})
    rates = {"intake": capacity.get("intake_accept_per_s") or float("inf")}
    for service, rate in consumer_rates(capacity).items():
        if rate is not None:
            rates[service] = rate
    name = min(rates, key=lambda s: rates[s])
    return next(s for s in SERVICES if s.name == name)


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def profile_service(
    system: System,
    pipeline: Pipeline,
    figures: dict[str, Any],
    *,
    seconds: float,
    output: Path,
    say: Callable[[str], None],
    service_name: str | None = None,
) -> dict[str, Any]:
    """Profiles the service named `service_name`, by default the slowest stage."""
    service = (
        next(s for s in SERVICES if s.name == service_name)
        if service_name
        else slowest_stage(figures)
    )
    stats_file = output / f"profile-{service.name}.prof"
    say(f"profiling {service.name} under cProfile for {seconds:.0f} s ...")
    system.stop(service)
    with (output / f"profile-{service.name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.profiled", str(stats_file), MODULES[service.name]],
            cwd=ROOT,
            env=system.service_environment(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 120
        while not _ready(service.port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{service.name} did not start under the profiler")
            time.sleep(0.5)
        pipeline.settle(120)
        step = pipeline.load(None, seconds, drain_wait_s=120)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    stats = pstats.Stats(str(stats_file))
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    top = []
    for (filename, line, function), entry in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda item: item[1][2],
        reverse=True,
    )[:25]:
        calls, _primitive, own_s, cumulative_s, _callers = entry
        top.append(
            {
                "function": f"{_short(filename)}:{line}({function})",
                "calls": calls,
                "own_s": round(own_s, 3),
                "own_share": round(own_s / total, 3),
                "cumulative_s": round(cumulative_s, 3),
            }
        )
    text = io.StringIO()
    pstats.Stats(str(stats_file), stream=text).sort_stats("cumulative").print_stats(40)
    (output / f"profile-{service.name}.txt").write_text(text.getvalue())
    return {
        "service": service.name,
        "load": step.summary(),
        "profiled_cpu_s": round(total, 2),
        "top_by_own_time": top,
        "stats_file": stats_file.name,
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename
