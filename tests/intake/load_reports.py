"""Measures accepted reports per second against a running intake (run by hand, not a test).

    python tests/intake/load_reports.py --url http://127.0.0.1:8001 --requests 2000 --concurrency 32

Start intake with a rate limit above the load (INTAKE_REPORTS_PER_MINUTE); the token is the
demo volunteer v-001's, from Keycloak (GRIDCASE_JWT_ISSUER). Every request is a small JSON
report; only 201s count as accepted."""

import argparse
import asyncio
import statistics
import time

import httpx

from gridcase_runtime.oidc import password_grant
from gridcase_runtime.settings import ServiceSettings

REPORT = {
    "category": "sanitation",
    "severity": "low",
    "description": "Overflowing rubbish bins by the market",
    "location": {"lat": 26.9, "lon": 112.6, "district": "D03"},
}


async def run(url: str, requests: int, concurrency: int) -> None:
    token, _ = password_grant(ServiceSettings(), "v-001", "demo-volunteer")
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                response = await client.post("/v1/reports", json=REPORT)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await client.post("/v1/reports", json=REPORT)  # warm-up: producer and connections
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    accepted = statuses.get(201, 0)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{requests} requests, concurrency {concurrency}, {elapsed:.2f} s, statuses {statuses}")
    p50, p99 = cuts[49] * 1000, cuts[98] * 1000
    print(f"accepted/s {accepted / elapsed:.0f}; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8001")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.url, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
