"""gridcase benchmark: `python -m tests.bench [--quick]` from the repository root.

Brings up Kafka and the Mongo-wire server if needed (the local runner), measures the raw
baselines, starts the four services on a fresh topic namespace and fresh databases, finds
the highest sustainable pipeline rate, measures end-to-end latency at half of it, intake's
capacity, an overload run at twice it, and profiles the slowest stage. Prints a table and
writes every figure with the run's parameters to bench-results/bench-<time>.json.
"""

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from pymongo import MongoClient

from gridcase_runtime.kafka_access import revoke
from gridcase_runtime.mongo import DRIVER_VARIABLE, DRIVERS
from gridcase_runtime.settings import ServiceSettings
from tests.bench.baselines import run_baselines
from tests.bench.pipeline import Pipeline, consumer_rates
from tests.bench.profiling import profile_service
from tests.bench.system import SERVICES, System, local_mongo_url
from tests.bench.workload import report_body
from tests.kafka_login import client_settings, use_administrator

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mode:
    name: str
    baseline_s: float
    round_trips: int
    connections: int
    search_start: float
    search_step_s: float
    search_steps: int
    latency_s: float
    capacity_s: float
    backlog: int
    """Reports each consumer works through on its own for its catch-up rate."""
    overload_s: float
    settle_s: float
    profile_s: float
    idle_s: float


QUICK = Mode("quick", 2, 50, 64, 10, 3, 5, 5, 3, 600, 5, 60, 5, 5)
FULL = Mode("full", 8, 500, 64, 10, 15, 10, 30, 10, 1500, 60, 180, 20, 10)


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def ratios(figures: dict[str, Any]) -> dict[str, Any]:
    base = figures.get("baselines", {})
    pipe = figures.get("pipeline", {})
    b_http = base.get("B_http", {}).get("ok_rate_per_s")
    b_produce = base.get("kafka", {}).get("B_produce_per_s")
    b_consume = base.get("kafka", {}).get("B_consume_per_s")
    b_mongo = base.get("mongo", {}).get("B_mongo_per_s")
    raw_floor = min((b for b in (b_produce, b_consume, b_mongo) if b), default=None)
    b_mongo_single = base.get("mongo", {}).get("B_mongo_single_per_s")
    capacity = pipe.get("capacity", {})
    intake = capacity.get("intake_accept_per_s")
    stages: dict[str, Any] = {"intake_accept/B_produce": ratio(intake, b_produce)}
    for service, rate in consumer_rates(capacity).items():
        stages[f"{service}_catch_up/B_consume"] = ratio(rate, b_consume)
        if service != "statistics":  # statistics keeps its state in Kafka, not MongoDB
            stages[f"{service}_catch_up/B_mongo"] = ratio(rate, b_mongo)
            stages[f"{service}_catch_up/B_mongo_single"] = ratio(rate, b_mongo_single)
    return {
        "intake_accept/B_http": ratio(intake, b_http),
        "sustainable/min(B_produce,B_consume,B_mongo)": ratio(
            pipe.get("sustainable_per_s"), raw_floor
        ),
        "stages": stages,
    }


def targets(figures: dict[str, Any]) -> dict[str, Any]:
    """The performance targets, each with its measured value and whether it is met."""
    pipe = figures.get("pipeline", {})
    latency = pipe.get("end_to_end", {})
    p99s = [
        c["p99_ms"] for c in latency.get("consumer_end_to_end_hdr", {}).values() if "p99_ms" in c
    ]
    overload = pipe.get("overload")
    memory = pipe.get("peak_memory_mb", {})

    def verdict(value: float | None, limit: float, above: bool) -> dict[str, Any]:
        met = None if value is None else (value >= limit if above else value <= limit)
        return {"value": value, "limit": limit, "met": met}

    return {
        "sustainable >= 100 reports/s": verdict(pipe.get("sustainable_per_s"), 100, True),
        "p99 accept -> every consumer's write at 50% <= 250 ms": verdict(
            max(p99s) if p99s else None, 250.0, False
        ),
        "intake >= 0.5 x B_produce": verdict(
            figures["ratios"]["stages"].get("intake_accept/B_produce"), 0.5, True
        ),
        "B_mongo_single >= 2,000/s": verdict(
            figures.get("baselines", {}).get("mongo", {}).get("B_mongo_single_per_s"), 2000, True
        ),
        "Mongo ops per report <= 5": verdict(
            latency.get("mongo_ops_per_report", {}).get("total"), 5, False
        ),
        "overload: only 2xx, 429, 503 (failures)": verdict(
            overload["failures"] if overload else None, 0, False
        ),
        "overload backlog drained": {
            "value": overload["drained"] if overload else None,
            "limit": True,
            "met": overload["drained"] if overload else None,
        },
        "peak RSS per service <= 300 MiB": verdict(max(memory.values(), default=None), 300, False),
    }


def table(figures: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []

    def add(name: str, value: Any, unit: str = "") -> None:
        if value is None:
            text = "-"
        elif isinstance(value, float):
            text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        else:
            text = str(value)
        rows.append((name, f"{text} {unit}".strip()))

    base = figures.get("baselines", {})
    if base:
        add("B_http (no-op FastAPI, 1 worker)", base["B_http"]["ok_rate_per_s"], "req/s")
        add(
            "B_http with httpx as client",
            base["B_http_with_httpx_client"]["ok_rate_per_s"],
            "req/s",
        )
        add("generator ceiling (raw client)", base["generator_ceiling"]["ok_rate_per_s"], "req/s")
        add("B_produce (acks=all, idempotent)", base["kafka"]["B_produce_per_s"], "rec/s")
        add("B_consume (batch 500, commit/batch)", base["kafka"]["B_consume_per_s"], "rec/s")
        add("B_mongo (bulk upserts, w=majority)", base["mongo"]["B_mongo_per_s"], "doc/s")
        mongo = base["mongo"]
        add(
            f"B_mongo_single (1 upsert/round trip, {mongo['B_mongo_single_writers']} writers)",
            mongo["B_mongo_single_per_s"],
            "doc/s",
        )
        add("B_mongo_single, one writer", mongo["B_mongo_single_one_writer_per_s"], "doc/s")
        client_cpu = mongo["client_cpu_us_per_upsert"]
        add(
            f"client CPU per upsert ({mongo['driver']}): bulk / single / one writer",
            _triple(client_cpu["bulk"], client_cpu["single"], client_cpu["one_writer"]),
            "µs",
        )
        add(
            "B_lat p50 / p99",
            f"{base['B_lat']['p50_ms']:.1f} / {base['B_lat']['p99_ms']:.1f}",
            "ms",
        )
    pipe = figures.get("pipeline", {})
    if pipe:
        add("sustainable pipeline rate", pipe.get("sustainable_per_s"), "reports/s")
        for name, ms in pipe.get("idle_cpu_ms_per_s", {}).items():
            add(f"CPU without load, {name}", ms, "ms/s")
        capacity = pipe.get("capacity", {})
        add("intake accept rate (saturation)", capacity.get("intake_accept_per_s"), "req/s")
        for service, rate in consumer_rates(capacity).items():
            add(f"{service} catch-up rate (alone)", rate, "events/s")
        latency = pipe.get("end_to_end", {})
        if latency:
            add("latency run rate (50%)", latency["rate"], "reports/s")
            http = latency["step"]["http"]["latency_2xx_ms"]
            add(
                "intake accept p50/p99/p99.9 (HDR)",
                _triple(http["p50"], http["p99"], http["p99.9"]),
                "ms",
            )
            for service, c in latency["consumer_end_to_end_hdr"].items():
                add(
                    f"e2e -> {service} write p50/p99/p99.9 (HDR)",
                    _triple(c.get("p50_ms"), c.get("p99_ms"), c.get("p99.9_ms")),
                    "ms",
                )
            operations = latency["mongo_ops_per_report"]
            for service in (s for s in operations if s != "total"):
                add(f"Mongo ops per report, {service}", operations[service]["total"])
            add("Mongo ops per report, all services", operations["total"])
            for name, ms in latency.get("cpu_ms_per_report", {}).items():
                add(f"CPU per report, {'all processes' if name == 'total' else name}", ms, "ms")
            assigned = latency["accept_to_case_assigned_hdr"]
            add(
                "accept -> CaseAssigned on bus p50/p99/p99.9 (HDR)",
                _triple(assigned.get("p50_ms"), assigned.get("p99_ms"), assigned.get("p99.9_ms")),
                "ms",
            )
        overload = pipe.get("overload")
        if overload:
            http = overload["step"]["http"]
            add("overload rate (2x)", overload["rate"], "reports/s")
            add("overload statuses", json.dumps(http["statuses"]))
            add("overload failures / drained", f"{overload['failures']} / {overload['drained']}")
        for name, mb in pipe.get("peak_memory_mb", {}).items():
            add(f"peak RSS {name}", mb, "MiB")
    for name, value in figures.get("ratios", {}).items():
        if isinstance(value, dict):
            for stage, stage_ratio in value.items():
                add(f"ratio {stage}", stage_ratio)
        else:
            add(f"ratio {name}", value)
    for name, verdict in figures.get("targets", {}).items():
        met = {True: "met", False: "MISSED", None: "not measured"}[verdict["met"]]
        add(f"target {name}", f"{verdict['value']} ({met})")
    profile = figures.get("profile")
    if profile:
        add("profiled service", profile["service"])
    width = max(len(name) for name, _ in rows) if rows else 0
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def _triple(*values: float | None) -> str:
    return " / ".join("-" if v is None else f"{v:.1f}" for v in values)


def run_pipeline(
    system: System,
    mode: Mode,
    figures: dict[str, Any],
    *,
    profile: str | None,
    output: Path,
    measure: bool = True,
    rate: float | None = None,
) -> None:
    """Measures the pipeline (unless not `measure`), then profiles the service named by
    `profile` ("slowest": the slowest stage; None: none)."""
    pipeline = Pipeline(system, connections=mode.connections, say=say)
    results: dict[str, Any] = {}
    figures["pipeline"] = results
    try:
        say(f"idle CPU of each process: {mode.idle_s:g} s without load ...")
        results["idle_cpu_ms_per_s"] = pipeline.idle_cpu(mode.idle_s)
        say("warm-up: 2 s at 20 reports/s")
        pipeline.load(20, 2, drain_wait_s=60)
        if measure:
            measure_pipeline(pipeline, mode, results, rate=rate)
        if profile:
            chosen = None if profile == "slowest" else profile
            results["profile"] = profile_service(
                system,
                pipeline,
                figures,
                seconds=mode.profile_s,
                output=output,
                say=say,
                service_name=chosen,
            )
    finally:
        pipeline.close()


def measure_pipeline(
    pipeline: Pipeline, mode: Mode, results: dict[str, Any], *, rate: float | None = None
) -> None:
    """The sustainable rate, latency at half of it, capacities, overload and memory; with
    `rate`, no search: latency at `rate` and overload at twice it."""
    if rate is None:
        say("finding the highest sustainable rate ...")
        sustainable, steps = pipeline.find_sustainable_rate(
            start=mode.search_start,
            seconds=mode.search_step_s,
            max_steps=mode.search_steps,
            settle_s=mode.settle_s,
        )
        results["search_steps"] = steps
        results["sustainable_per_s"] = sustainable
    else:
        sustainable = 2 * rate
    if sustainable is None:
        say(
            f"not even {mode.search_start:g}/s is sustainable: "
            "no latency or overload run (they need a sustainable rate)"
        )
    else:
        say(f"sustainable: {sustainable:.1f}/s; latency run at {sustainable / 2:.1f}/s ...")
        results["end_to_end"] = pipeline.end_to_end(sustainable / 2, mode.latency_s)
    say("intake capacity (closed loop) and the consumers' catch-up rates ...")
    results["capacity"] = pipeline.capacity(mode.capacity_s, mode.backlog, mode.settle_s)
    if sustainable is not None:
        say(f"overload: {2 * sustainable:.1f} reports/s for {mode.overload_s:.0f} s ...")
        results["overload"] = pipeline.overload(2 * sustainable, mode.overload_s, mode.settle_s)
    results["peak_memory_mb"] = {k: round(v, 1) for k, v in pipeline.peak_memory.items()}


def clean_up(system: System, mongo_url: str) -> None:
    """Drops the run's ACLs, topics, consumer groups and databases."""
    revoke(system.bootstrap, system.namespace)
    admin = KafkaAdminClient(**client_settings(system.bootstrap, client_id="bench-cleanup"))
    try:
        topics = [t for t in admin.list_topics() if t.startswith(system.namespace)]
        if topics:
            admin.delete_topics(topics, raise_errors=False)
        admin.delete_groups([system.group(s) for s in SERVICES])
    finally:
        admin.close()
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    for name in client.list_database_names():
        if name.startswith(system.database_prefix):
            client.drop_database(name)
    client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="gridcase benchmark")
    parser.add_argument("--quick", action="store_true", help="a few seconds per stage")
    parser.add_argument(
        "--only",
        choices=["baselines", "pipeline", "profile"],
        help="run one part (default: baselines and pipeline); profile: the services started "
        "and warmed up, then only the profiling stage",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the profiling stage")
    parser.add_argument(
        "--profile",
        choices=[service.name for service in SERVICES],
        help="the service to profile (default: the slowest stage)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="reports/s of the latency run, without searching for the sustainable rate "
        "(the overload runs at twice it); to compare builds at one rate",
    )
    parser.add_argument("--latency-s", type=float, help="the latency run's length in seconds")
    parser.add_argument("--keep", action="store_true", help="keep the run's topics and databases")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results")
    parser.add_argument(
        "--mongo-driver",
        choices=DRIVERS,
        default="motor",
        help="the MongoDB client of the services and the baselines (default: motor)",
    )
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    if args.latency_s:
        mode = replace(mode, latency_s=args.latency_s)
    os.environ[DRIVER_VARIABLE] = args.mongo_driver
    use_administrator()  # the services log in as their own users (the local runner's)
    # the local Mongo-wire server as its administrator and the local broker on KAFKA_PORT,
    # unless the environment names servers
    os.environ.setdefault("MONGODB_URL", local_mongo_url())
    os.environ.setdefault(
        "KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}"
    )
    settings = ServiceSettings()
    namespace = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:4]}"
    figures: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "parameters": {
            **asdict(mode),
            "namespace": namespace,
            "kafka": settings.kafka_bootstrap_servers,
            "mongodb": settings.mongodb_url,
            "mongo_driver": args.mongo_driver,
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
            "report_bytes": len(report_body(0)),
        },
    }
    system = System(namespace, settings.kafka_bootstrap_servers)
    started = time.monotonic()
    args.output.mkdir(parents=True, exist_ok=True)
    try:
        system.infra("up", "kafka", "ferretdb")
        if args.only not in ("pipeline", "profile"):
            figures["baselines"] = run_baselines(
                settings.kafka_bootstrap_servers,
                settings.mongodb_url,
                namespace,
                seconds=mode.baseline_s,
                connections=mode.connections,
                lat_count=mode.round_trips,
                say=say,
            )
        if args.only != "baselines":
            say(f"starting the four services on namespace {namespace} ...")
            system.start()
            try:
                run_pipeline(
                    system,
                    mode,
                    figures,
                    profile=None if args.no_profile else args.profile or "slowest",
                    output=args.output,
                    measure=args.only != "profile",
                    rate=args.rate,
                )
            finally:
                system.stop()
    finally:
        figures["ratios"] = ratios(figures)
        figures["targets"] = targets(figures)
        figures["duration_s"] = round(time.monotonic() - started, 1)
        if "profile" in figures.get("pipeline", {}):
            figures["profile"] = figures["pipeline"].pop("profile")
        args.output.mkdir(parents=True, exist_ok=True)
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        driver = "" if args.mongo_driver == "motor" else f"-{args.mongo_driver}"
        path = args.output / f"bench-{stamp}-{mode.name}{driver}.json"
        path.write_text(json.dumps(figures, indent=2, default=str))
        title = f"{mode.name}, {args.mongo_driver}, {figures['duration_s']} s"
        print(f"\ngridcase benchmark ({title})\n{table(figures)}")
        print(f"\nall figures: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        if not args.keep:
            clean_up(system, settings.mongodb_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
