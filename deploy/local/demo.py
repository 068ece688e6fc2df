"""Feeds the running system (make up) a month's volume of a city's reports and works them
through handlers and inspectors, so that the figures, the period report and the
dashboards show a live picture.

    .venv/bin/python deploy/local/demo.py [--reports 400] [--seed 2022]

Reports come through intake (most through the volunteers' API, some through Open311),
spread over DOMAIN.md's categories, the twelve districts and twenty volunteer teams, with
a few reported twice (merged as duplicates). Each is filed by its point alone: intake
finds the district and community from the boundaries it serves. Handlers then accept,
order rectification, record progress and resolve most cases with photo evidence;
inspectors verify (a few fail and are reworked); some cases are rejected or returned;
the rest stay open at various stages, as in a real month.
"""

import argparse
import asyncio
import io
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image
from shapely import Point
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from tqdm import tqdm

from gridcase_runtime.auth import Role
from gridcase_runtime.oidc import TokenCache
from gridcase_runtime.settings import ServiceSettings

# The realm's demo users sign in with these (deploy/keycloak/demo/gridcase-users-0.json).
DEMO_PASSWORDS = {
    Role.VOLUNTEER: "demo-volunteer",
    Role.HANDLER: "demo-handler",
    Role.SUPERVISOR: "demo-supervisor",
    Role.ADMIN: "demo-admin",
}
INTAKE = f"http://127.0.0.1:{os.environ.get('INTAKE_PORT', '8001')}"
REMEDIATION = f"http://127.0.0.1:{os.environ.get('REMEDIATION_PORT', '8003')}"
STATISTICS = f"http://127.0.0.1:{os.environ.get('STATISTICS_PORT', '8004')}"

CATEGORIES = {  # category: (weight, what volunteers write)
    "housing-safety": (22, "Cracks in the load-bearing wall of a self-built house"),
    "public-security": (14, "Street lights out along the alley, thefts reported at night"),
    "urban-management": (18, "Stalls and parked tricycles block the pavement"),
    "fire-safety": (9, "Electric bikes charged in the stairwell, exits blocked"),
    "traffic-safety": (7, "Missing guard rail at the school crossing"),
    "sanitation": (14, "Rubbish not collected for three days near the market"),
    "epidemic-prevention": (3, "Standing water in the courtyard breeding mosquitoes"),
    "market-safety": (5, "Food stall without a licence selling cooked meat"),
    "public-service-obstruction": (6, "Residence certificate refused twice without a reason"),
    "other": (2, "Abandoned well cover missing in the lane"),
}
SEVERITIES = {"low": 30, "medium": 40, "high": 25, "critical": 5}
MEASURES = [
    "responsibility-contracting",
    "assessment-inspection",
    "rectification-order",
    "suspension-for-rectification",
]
STREETS = ["East", "West", "North", "South", "Riverside", "Station", "Market"]


def districts_of(boundaries: dict[str, Any]) -> list[BaseGeometry]:
    """The district polygons of the GeoJSON intake serves at /v1/boundaries."""
    return [
        shape(feature["geometry"])
        for feature in boundaries["features"]
        if feature["properties"]["level"] == "district"
    ]


class Demo:
    def __init__(
        self, http: httpx.AsyncClient, rng: random.Random, districts: list[BaseGeometry]
    ) -> None:
        self.http = http
        self.rng = rng
        self.districts = districts
        self.tokens = TokenCache(ServiceSettings())
        self.api_key = ""
        self.outcomes: Counter[str] = Counter()

    async def headers(self, role: Role, username: str) -> dict[str, str]:
        """A demo user's token from Keycloak (kept until shortly before it expires), fetched
        in a thread so that the other reports' requests go on meanwhile."""
        token = await asyncio.to_thread(self.tokens.user, username, DEMO_PASSWORDS[role])
        return {"Authorization": f"Bearer {token}"}

    async def supervisor(self) -> dict[str, str]:
        return await self.headers(Role.SUPERVISOR, "s-demo-1")

    async def inspector(self) -> dict[str, str]:
        return await self.headers(Role.SUPERVISOR, "s-demo-2")

    async def issue_api_key(self) -> None:
        """The demo's Open311 client gets its api key from intake's admin API."""
        issued = await self.http.post(
            f"{INTAKE}/v1/admin/api-keys",
            json={"name": "demo-city-app"},
            headers=await self.headers(Role.ADMIN, "a-demo-1"),
        )
        issued.raise_for_status()
        self.api_key = issued.json()["api_key"]

    async def volunteer(self) -> tuple[str, dict[str, str]]:
        """One of the realm's twenty demo volunteers (v-001 ... v-020, one per team)."""
        username = f"v-{self.rng.randrange(1, 21):03d}"
        return username, await self.headers(Role.VOLUNTEER, username)

    def point(self) -> tuple[float, float]:
        """(lat, lon) of a random point inside a random district."""
        district = self.rng.choice(self.districts)
        west, south, east, north = district.bounds
        while True:
            lat, lon = (
                round(self.rng.uniform(south, north), 6),
                round(self.rng.uniform(west, east), 6),
            )
            if district.contains(Point(lon, lat)):
                return lat, lon

    def new_report(self) -> dict[str, Any]:
        category = self.rng.choices(list(CATEGORIES), [w for w, _ in CATEGORIES.values()])[0]
        lat, lon = self.point()
        return {
            "category": category,
            "severity": self.rng.choices(list(SEVERITIES), list(SEVERITIES.values()))[0],
            "description": CATEGORIES[category][1],
            "location": {
                "lat": lat,
                "lon": lon,
                "address": f"{self.rng.randrange(1, 300)} {self.rng.choice(STREETS)} Street",
            },
        }

    async def submit(self, report: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
        _, headers = await self.volunteer()
        if self.rng.random() < 0.15:
            response = await self.http.post(
                f"{INTAKE}/open311/v2/requests.json",
                data={
                    "api_key": self.api_key,
                    "service_code": report["category"],
                    "lat": str(report["location"]["lat"]),
                    "long": str(report["location"]["lon"]),
                    "description": report["description"],
                    "attribute[severity]": report["severity"],
                },
            )
            if response.status_code == 201:
                return response.json()[0]["service_request_id"], headers
        else:
            response = await self.http.post(f"{INTAKE}/v1/reports", json=report, headers=headers)
            if response.status_code == 201:
                return response.json()["case_id"], headers
        self.outcomes[f"not accepted ({response.status_code})"] += 1
        return None

    async def case(self, case_id: str) -> dict[str, Any] | None:
        supervisor = await self.supervisor()
        response = await self.http.get(f"{REMEDIATION}/v1/cases/{case_id}", headers=supervisor)
        return response.json() if response.status_code == 200 else None

    async def routed(self, case_id: str, timeout_s: float = 60) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            current = await self.case(case_id)
            if current and current["status"] in ("assigned", "duplicate"):
                return current
            await asyncio.sleep(0.2)
        return None

    async def act(
        self,
        case_id: str,
        action: str,
        headers: dict[str, str],
        body: dict[str, Any] | None = None,
        photo: bool = False,
    ) -> bool:
        current = await self.http.get(f"{REMEDIATION}/v1/cases/{case_id}", headers=headers)
        if current.status_code != 200:
            return False
        guarded = {**headers, "If-Match": current.headers["etag"]}
        url = f"{REMEDIATION}/v1/cases/{case_id}/{action}"
        if photo:
            response = await self.http.post(
                url, headers=guarded, data=body or {}, files=[("photos", evidence_photo())]
            )
        else:
            response = await self.http.post(url, headers=guarded, json=body or {})
        return response.status_code == 200

    async def work(self, case_id: str, reporter: dict[str, str]) -> None:
        """Takes one case as far as this month's luck allows."""
        current = await self.routed(case_id)
        if current is None:
            self.outcomes["not routed in time"] += 1
            return
        if current["status"] == "duplicate":
            self.outcomes["merged as duplicate"] += 1
            return
        if current["handler"] is None:
            self.outcomes["left in the supervisor queue"] += 1
            return
        handler = await self.headers(Role.HANDLER, current["handler"])
        fate = self.rng.random()
        if fate < 0.04:
            await self.act(
                case_id, "reject", handler, {"reason": "Not a public hazard: private dispute"}
            )
            self.outcomes["rejected"] += 1
            return
        if fate < 0.08:
            await self.act(
                case_id, "return", handler, {"reason": "Not ours: belongs to the district"}
            )
            self.outcomes["returned and rerouted"] += 1
            return
        if fate < 0.14:
            self.outcomes["still waiting to be accepted"] += 1
            return
        await self.act(case_id, "accept", handler)
        if fate < 0.20:
            self.outcomes["accepted, work not started"] += 1
            return
        deadline = (datetime.now(UTC) + timedelta(days=self.rng.randrange(3, 20))).isoformat()
        await self.act(
            case_id,
            "rectification-orders",
            handler,
            {
                "measure": self.rng.choice(MEASURES),
                "deadline": deadline,
                "responsible_party": "Owner or operator on site",
            },
        )
        await self.act(case_id, "progress", handler, {"note": "Rectification under way"})
        if fate < 0.30:
            self.outcomes["in remediation"] += 1
            return
        needs_photo = current["category"] != "public-service-obstruction"
        await self.act(case_id, "resolve", handler, {"note": "Hazard removed"}, photo=needs_photo)
        if fate < 0.36:
            self.outcomes["resolved, awaiting verification"] += 1
            return
        if fate < 0.40:
            await self.act(
                case_id,
                "verify",
                await self.inspector(),
                {"passed": False, "reason": "Rework: the fix is incomplete"},
            )
            await self.act(case_id, "progress", handler, {"note": "Reworked after inspection"})
            await self.act(
                case_id, "resolve", handler, {"note": "Reworked and fixed"}, photo=needs_photo
            )
        await self.act(
            case_id, "verify", await self.inspector(), {"passed": True, "reason": "Checked on site"}
        )
        await self.act(case_id, "close", handler, {"note": "Closed after verification"})
        if self.rng.random() < 0.5:
            await self.act(
                case_id,
                "confirm",
                reporter,
                {"satisfied": self.rng.random() < 0.9, "rating": self.rng.randint(3, 5)},
            )
        self.outcomes["closed"] += 1

    async def one(self, gate: asyncio.Semaphore) -> None:
        async with gate:
            report = self.new_report()
            submitted = await self.submit(report)
            if submitted and self.rng.random() < 0.05:
                await self.submit(report)  # a neighbour reports the same hazard
            if submitted:
                await self.work(*submitted)


def evidence_photo() -> tuple[str, bytes, str]:
    output = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 90)).save(output, "JPEG", quality=70)
    return ("evidence.jpg", output.getvalue(), "image/jpeg")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--concurrency", type=int, default=8, help="reports worked at once")
    args = parser.parse_args()
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            ready = await http.get(f"{INTAKE}/readyz")
        except httpx.HTTPError:
            print("gridcase is not running: start it with `make up` first", file=sys.stderr)
            return 2
        if ready.status_code != 200:
            print("intake is not ready yet; try again in a moment", file=sys.stderr)
            return 2
        boundaries = (await http.get(f"{INTAKE}/v1/boundaries")).json()
        demo = Demo(http, random.Random(args.seed), districts_of(boundaries))
        await demo.issue_api_key()
        gate = asyncio.Semaphore(args.concurrency)
        started = time.monotonic()
        with tqdm(total=args.reports, desc="reports worked", unit="report") as progress:

            async def one() -> None:
                await demo.one(gate)
                progress.update()

            await asyncio.gather(*(one() for _ in range(args.reports)))
        print(f"done in {time.monotonic() - started:.0f}s:")
        for outcome, count in demo.outcomes.most_common():
            print(f"  {count:>5}  {outcome}")
        await asyncio.sleep(3)
        report = await http.get(
            f"{STATISTICS}/v1/stats/report",
            params={"year": datetime.now(UTC).year},
            headers=await demo.supervisor(),
        )
        if report.status_code != 200:
            print(f"no period report: {report.status_code} {report.text[:300]}", file=sys.stderr)
            return 1
        sentences = report.json()
        print(f"\nperiod report: {sentences['text_zh']}\n               {sentences['text_en']}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
