"""The chaos suite's workload: what clients send and what they were told.

- Volunteers file reports (intake's native API), each under its own Idempotency-Key, and
  retry every refusal, error or timeout with the same key until it is accepted.
- Open311 clients do the same through `/open311/v2/requests.json` with an api_key.
- A crew of handlers and supervisors takes each case through its lifecycle (accept, order
  rectification, record progress, resolve with a photo, verify): each action is sent with
  the version it read in If-Match, and after any error or conflict the case is read again
  and the next action decided from what it shows, so an action whose answer was lost is
  never sent twice.

Every report names its key in its description, so that the checker can match what is on
the topic to what the clients were told (see checker.py).
"""

import asyncio
import io
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from PIL import Image

from gridcase_runtime.auth import Role
from gridcase_runtime.settings import ServiceSettings
from identity import mint_token
from places import point_in

REF = " (ref "
CATEGORIES = ("housing-safety", "public-service-obstruction", "urban-management", "fire-safety")
DISTRICTS = [f"D{n:02d}" for n in range(1, 13)]


def report(key: str, spot: int = 0) -> dict[str, Any]:
    """A report whose description names its key. Each `spot` is a point of its own, about
    90 m from any other, so that no two reports are merged as duplicates."""
    lat, lon = point_in(DISTRICTS[spot % 12], spot // 12)
    shift = spot // 108
    return {
        "category": CATEGORIES[spot % len(CATEGORIES)],
        "severity": "high",
        "description": f"Cracked load-bearing wall{REF}{key})",
        "location": {
            "lat": lat + (shift % 20) * 0.0008,
            "lon": lon + (shift // 20) * 0.0009,
            "address": "12 Riverside Rd",
        },
    }


def key_of(description: str) -> str:
    """The key a report's description names ('' if none)."""
    return description.rsplit(REF, 1)[1].rstrip(")") if REF in description else ""


@dataclass
class Ledger:
    """What the clients sent and were told."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    """key → the case_id of its 201."""
    answers: Counter[str] = field(default_factory=Counter)
    """Every answer to a report or an action: its status code, or the error's name."""
    accepted_at: list[float] = field(default_factory=list)
    actions: dict[tuple[str, str], bool] = field(default_factory=dict)
    """(case_id, event type) → True once an action was answered 200; False while it was
    sent and its outcome is unknown (an error, a timeout, a 5xx)."""
    spots: Iterator[int] = field(default_factory=itertools.count)

    @property
    def operations(self) -> int:
        return sum(self.answers.values())

    def server_errors(self) -> dict[str, int]:
        """Answers 5xx other than 503."""
        return {a: n for a, n in self.answers.items() if a.startswith("5") and a != "503"}


async def _until_accepted(
    send: Callable[[], Awaitable[httpx.Response]],
    key: str,
    case_id_of: Callable[[httpx.Response], str],
    ledger: Ledger,
) -> None:
    """Sends a report again and again with the same key until it is accepted (and at
    least PACE_S after the first try)."""
    sent = time.monotonic()
    while key not in ledger.acknowledged:
        try:
            answer = await send()
        except httpx.HTTPError as error:
            ledger.answers[type(error).__name__] += 1
            await asyncio.sleep(0.5)
            continue
        ledger.answers[str(answer.status_code)] += 1
        if answer.status_code == 201:
            ledger.acknowledged[key] = case_id_of(answer)
            ledger.accepted_at.append(time.monotonic())
        else:
            await asyncio.sleep(0.5)
    await asyncio.sleep(max(0.0, PACE_S - (time.monotonic() - sent)))


PACE_S = 1.0
"""Each client files at most one report a second."""


async def volunteers(
    client: httpx.AsyncClient, tokens: list[str], ledger: Ledger, stop: asyncio.Event
) -> None:
    """Each volunteer files reports one after another until `stop`; a report is retried
    with its key until it is accepted, even after `stop`."""

    async def volunteer(token: str) -> None:
        while not stop.is_set():
            key = str(uuid.uuid4())
            body = report(key, next(ledger.spots))
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
            await _until_accepted(
                partial(client.post, "/v1/reports", json=body, headers=headers),
                key,
                lambda answer: str(answer.json()["case_id"]),
                ledger,
            )

    await asyncio.gather(*(volunteer(token) for token in tokens))


async def open311_clients(
    client: httpx.AsyncClient, api_key: str, count: int, ledger: Ledger, stop: asyncio.Event
) -> None:
    """`count` Open311 clients filing service requests as the volunteers do."""

    async def city_app() -> None:
        while not stop.is_set():
            key = str(uuid.uuid4())
            body = report(key, next(ledger.spots))
            form = {
                "api_key": api_key,
                "service_code": body["category"],
                "lat": str(body["location"]["lat"]),
                "long": str(body["location"]["lon"]),
                "address_string": body["location"]["address"],
                "description": body["description"],
                "attribute[severity]": body["severity"],
            }
            await _until_accepted(
                partial(
                    client.post,
                    "/open311/v2/requests.json",
                    data=form,
                    headers={"Idempotency-Key": key},
                ),
                key,
                lambda answer: str(answer.json()[0]["service_request_id"]),
                ledger,
            )

    await asyncio.gather(*(city_app() for _ in range(count)))


def photo() -> tuple[str, bytes, str]:
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 160, 40)).save(output, "JPEG")
    return ("after.jpg", output.getvalue(), "image/jpeg")


@dataclass(frozen=True)
class Step:
    """The next action on a case: its path, the event it makes, its body, who acts."""

    path: str
    event_type: str
    body: dict[str, Any]
    supervisor: bool = False
    photo: bool = False


def next_step(case: dict[str, Any]) -> Step | None:
    """What the crew does next to a case, from what the case shows."""
    status = case["status"]
    if status == "assigned":
        return Step("accept", "CaseAccepted", {})
    if status == "accepted":
        deadline = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        return Step(
            "rectification-orders",
            "RectificationOrdered",
            {"measure": "rectification-order", "deadline": deadline, "responsible_party": "Owner"},
        )
    if status == "in_remediation":
        progressed = any(e["event_type"] == "ProgressRecorded" for e in case["timeline"] or [])
        if not progressed:
            return Step("progress", "ProgressRecorded", {"note": "Props installed"})
        return Step("resolve", "CaseResolved", {"note": "Wall rebuilt"}, photo=True)
    if status == "resolved":
        return Step("verify", "CaseVerified", {"passed": True}, supervisor=True)
    return None


WORKABLE = ("assigned", "accepted", "in_remediation", "resolved")


class Crew:
    """Handlers (one per department, as the case's department) and a supervisor working
    every open case of remediation-tracking until `stop` and every acknowledged case is
    verified (or `drain_s` has passed since `stop`)."""

    def __init__(
        self, client: httpx.AsyncClient, settings: ServiceSettings, ledger: Ledger
    ) -> None:
        self.client = client
        self.settings = settings
        self.ledger = ledger
        self.supervisor = self._auth(Role.SUPERVISOR, "s-chaos-1")
        self._handlers: dict[str, dict[str, str]] = {}

    def _auth(self, role: Role, subject: str, department: str | None = None) -> dict[str, str]:
        token = mint_token(self.settings, subject=subject, role=role, department=department)
        return {"Authorization": f"Bearer {token}"}

    def handler(self, department: str) -> dict[str, str]:
        if department not in self._handlers:
            self._handlers[department] = self._auth(Role.HANDLER, f"h-{department}", department)
        return self._handlers[department]

    async def run(self, stop: asyncio.Event, drain_s: float = 60) -> None:
        deadline: float | None = None
        while True:
            try:
                listing = await self.client.get(
                    "/v1/cases",
                    params={"status": list(WORKABLE), "limit": 200, "sort": "updated_at"},
                    headers=self.supervisor,
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
                continue
            items = listing.json()["items"] if listing.status_code == 200 else None
            if stop.is_set():
                deadline = deadline or time.monotonic() + drain_s
                if (items == [] and self._all_verified()) or time.monotonic() > deadline:
                    return
            await asyncio.gather(*(self.advance(case) for case in (items or [])[:24]))
            if not items:
                await asyncio.sleep(0.5)

    def _all_verified(self) -> bool:
        """Every acknowledged case verified, as far as the crew knows: a verification whose
        answer was lost counts, since an unverified case is still listed."""
        verifying = {case for case, kind in self.ledger.actions if kind == "CaseVerified"}
        return set(self.ledger.acknowledged.values()) <= verifying

    async def advance(self, summary: dict[str, Any]) -> None:
        """Reads the case and takes its next step once."""
        case_id = summary["case_id"]
        headers = self.handler(summary["department"]) if summary["department"] else {}
        try:
            read = await self.client.get(f"/v1/cases/{case_id}", headers=headers)
        except httpx.HTTPError:
            return
        if read.status_code != 200:
            return
        step = next_step(read.json())
        if step is None:
            return
        acting = self.supervisor if step.supervisor else headers
        guarded = {**acting, "If-Match": read.headers["etag"]}
        action = (case_id, step.event_type)
        self.ledger.actions.setdefault(action, False)
        url = f"/v1/cases/{case_id}/{step.path}"
        try:
            if step.photo:
                answer = await self.client.post(
                    url, headers=guarded, data=step.body, files=[("photos", photo())]
                )
            else:
                answer = await self.client.post(url, headers=guarded, json=step.body)
        except httpx.HTTPError as error:
            self.ledger.answers[type(error).__name__] += 1
            return
        self.ledger.answers[str(answer.status_code)] += 1
        if answer.status_code == 200:
            self.ledger.actions[action] = True


def tokens(settings: ServiceSettings, count: int) -> list[str]:
    return [
        mint_token(settings, subject=f"v-chaos-{n}", role=Role.VOLUNTEER, ttl_s=3600)
        for n in range(count)
    ]
