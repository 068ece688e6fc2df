"""What motor's thread hop costs: each service's own Mongo adapter does the same work on
motor and on PyMongo's AsyncMongoClient, the two alternating round by round, with this
process's CPU time and the wall time per case (the medians of the rounds), 16 cases at a
time as the consumers work a batch: `python -m tests.bench.drivers [--cases N]
[--rounds N]` from the repository root, with the local Mongo-wire server running
(MONGODB_URL, else infra.py's).

- intake: each report's view written on accepting it, then its consumed CaseAssigned;
- assignment: a routing decision's reads (the open cases nearby, the handlers' workload
  counters) and the stored decision;
- remediation-tracking: the consumed CaseReported events, then their CaseAssigned, as the
  consumer records them (a batch of each).

The whole pipeline on either client: `python -m tests.bench --mongo-driver pymongo`.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from gridcase_assignment.adapters.repository import AssignmentRepository
from gridcase_assignment.domain.duplicates import grid_cell
from gridcase_assignment.domain.model import Case
from gridcase_contracts.codes import Category, District, Severity
from gridcase_intake.adapters.repository import MongoCaseViews
from gridcase_remediation.adapters.repository import CaseRepository
from gridcase_remediation.handlers import record_events
from gridcase_runtime.batches import per_case
from gridcase_runtime.mongo import DRIVERS, MongoDatabase, close, connect
from tests.bench.workload import case_reported
from tests.factories import case_assigned

ROOT = Path(__file__).resolve().parents[2]
Work = Callable[[MongoDatabase, list[str]], Awaitable[None]]


async def intake_work(database: MongoDatabase, case_ids: list[str]) -> None:
    views = MongoCaseViews(database)
    reports = [case_reported(n, case_id) for n, case_id in enumerate(case_ids)]
    await per_case(reports, lambda e: e.case_id, lambda e: views.apply(e[0], accepted_here=True))
    events = [case_assigned(case_id) for case_id in case_ids]
    await per_case(events, lambda e: e.case_id, lambda e: views.apply(e[0]))


async def assignment_work(database: MongoDatabase, case_ids: list[str]) -> None:
    repository = AssignmentRepository(database)

    async def decide(case_id: str) -> bool:
        report = case_reported(hash(case_id) % 100_000, case_id)
        location = report.payload.location
        case = Case(
            case_id=case_id,
            category=Category(report.payload.category),
            severity=Severity(report.payload.severity),
            district=District(location.district),
            reported_at=report.occurred_at,
            lat=location.lat,
            lon=location.lon,
        )
        cell = grid_cell(location.lat, location.lon, 50)
        await asyncio.gather(
            repository.nearby_open_cases(case.category, cell, excluding=case_id),
            repository.least_loaded(["h-housing-1", "h-housing-2"]),
        )
        assigned_case = replace(case, status="assigned", department="housing-bureau")
        return await repository.save_case(assigned_case, processed_event=str(report.event_id))

    await per_case(case_ids, lambda case_id: case_id, lambda own: decide(own[0]))


async def remediation_work(database: MongoDatabase, case_ids: list[str]) -> None:
    repository = CaseRepository(database)
    await record_events(repository, [case_reported(n, c) for n, c in enumerate(case_ids)])
    await record_events(repository, [case_assigned(case_id) for case_id in case_ids])


SERVICES: dict[str, Work] = {
    "intake": intake_work,
    "assignment": assignment_work,
    "remediation-tracking": remediation_work,
}


def commands(database: str) -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "gridcase_mongo_commands"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["database"] == database
    )


async def one_round(url: str, driver: str, service: str, cases: int) -> dict[str, float]:
    name = f"bench_drivers_{uuid.uuid4().hex[:8]}"
    database = connect(url, name, driver=driver)
    try:
        await database.command("ping")
        case_ids = [f"GC-DRV-{uuid.uuid4().hex[:10]}" for _ in range(cases)]
        sent = commands(name)
        cpu, wall = time.process_time(), time.perf_counter()
        await SERVICES[service](database, case_ids)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        sent = commands(name) - sent
        totals = {"commands": sent, "cpu_us": cpu * 1e6, "wall_us": wall * 1e6}
        return {key: value / cases for key, value in totals.items()}
    finally:
        await database.client.drop_database(name)
        close(database)


def local_mongo_url() -> str:
    command = [sys.executable, str(ROOT / "deploy" / "local" / "infra.py"), "mongo-url"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


async def measure(url: str, cases: int, rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for service in SERVICES:
        runs: dict[str, list[dict[str, float]]] = {driver: [] for driver in DRIVERS}
        for _ in range(rounds):
            for driver in DRIVERS:
                runs[driver].append(await one_round(url, driver, service, cases))
        figures[service] = {
            driver: {
                key: round(sorted(r[key] for r in results)[len(results) // 2], 2)
                for key in ("commands", "cpu_us", "wall_us")
            }
            for driver, results in runs.items()
        }
        motor, native = figures[service]["motor"], figures[service]["pymongo"]
        print(
            f"{service:<21} per case: CPU {motor['cpu_us']:.0f} µs on motor, "
            f"{native['cpu_us']:.0f} µs on AsyncMongoClient; wall {motor['wall_us']:.0f} / "
            f"{native['wall_us']:.0f} µs ({motor['commands']:.2f} commands a case)",
            flush=True,
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="cases a round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per client (median)")
    args = parser.parse_args()
    url = os.environ.get("MONGODB_URL") or local_mongo_url()
    figures = asyncio.run(measure(url, args.cases, args.rounds))
    print(json.dumps({"cases": args.cases, "rounds": args.rounds, **figures}, indent=2))


if __name__ == "__main__":
    main()
