"""Who may call what: every route of every app, taken from the apps' own route tables and
checked against the tables below. A route missing from a table, or an entry without a
route, fails the test.

- `EXPECTED`, the role gate: each protected route is called anonymously, with each role's
  token, and with every kind of bad token, on apps with empty databases of their own and
  without their workers, so past the gate a call finds nothing: the gate's answer (401,
  403, or past it) is what is checked.
- `SCOPED`, whose case it is: every route that names a case or a photo, or lists cases,
  is called for one real case by everyone around it (its reporter and another volunteer;
  handlers of its lead department, of another and of a co-handling department; a
  supervisor and an admin, and anonymously), and each answer is checked against its cell.
  The case is made in intake and remediation-tracking running in-process with their
  consumers on the real broker and Mongo-wire server: the reporter files it with a photo,
  assignment's event gives it its departments, the lead handler accepts it and records
  progress with a photo. Actions are sent with a stale If-Match, so a caller allowed to act
  gets 412 and nothing changes."""

import asyncio
import io
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from PIL import Image
from starlette.routing import Mount

from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.entrypoints.api import create_app as assignment_app
from gridcase_contracts.events import CaseAssigned, CaseAssignedPayload, StageDue, new_event
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app as intake_app
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.entrypoints.api import create_app as remediation_app
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.settings import ServiceSettings
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.api import create_app as statistics_app
from identity import TEST_ISSUER, TestIssuer, claims_for
from producers import AsProducers

PUBLIC = "public"
EVERYONE = frozenset(Role)
V, H, S, A = Role.VOLUNTEER, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN
OPERATIONS = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/metrics/end-to-end"): PUBLIC,
    ("MOUNT", "/docs-assets"): PUBLIC,
}
EXPECTED: dict[str, dict[tuple[str, str], str | frozenset[Role]]] = {
    "intake": {
        **OPERATIONS,
        ("POST", "/v1/reports"): frozenset({V}),
        ("GET", "/v1/reports"): frozenset({V}),
        ("GET", "/v1/reports/{case_id}"): EVERYONE,
        ("GET", "/v1/photos/{photo_id}"): EVERYONE,
        ("GET", "/v1/categories"): PUBLIC,
        ("GET", "/v1/boundaries"): PUBLIC,
        # Open311 answers to api keys, not bearer tokens (tests/intake/unit/test_api_keys.py)
        ("GET", "/open311/v2/services.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/services/{service_code}.{fmt}"): PUBLIC,
        ("POST", "/open311/v2/requests.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/requests.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): PUBLIC,
        ("GET", "/open311/v2/tokens/{token}.{fmt}"): PUBLIC,
        ("POST", "/v1/admin/api-keys"): frozenset({A}),
        ("GET", "/v1/admin/api-keys"): frozenset({A}),
        ("DELETE", "/v1/admin/api-keys/{key_id}"): frozenset({A}),
    },
    "assignment": {
        **OPERATIONS,
        ("GET", "/admin/catalogue"): frozenset({S, A}),
        ("PUT", "/admin/catalogue/{category}/{district}"): frozenset({A}),
        ("DELETE", "/admin/catalogue/{category}/{district}"): frozenset({A}),
        ("GET", "/admin/changes"): frozenset({A}),
        ("GET", "/admin/departments"): frozenset({S, A}),
        ("PUT", "/admin/departments/{code}"): frozenset({A}),
        ("GET", "/admin/handlers"): frozenset({S, A}),
        ("PUT", "/admin/handlers/{handler_id}"): frozenset({A}),
        ("PATCH", "/admin/handlers/{handler_id}"): frozenset({A}),
        ("GET", "/supervisor/queue"): frozenset({S}),
        ("GET", "/supervisor/escalations"): frozenset({S}),
        ("GET", "/supervisor/cases/{case_id}"): frozenset({S}),
        ("POST", "/supervisor/cases/{case_id}/reassign"): frozenset({S}),
        ("POST", "/supervisor/cases/{case_id}/split"): frozenset({S}),
    },
    "remediation-tracking": {
        **OPERATIONS,
        ("GET", "/v1/cases"): EVERYONE,
        ("GET", "/v1/cases/{case_id}"): EVERYONE,
        ("GET", "/v1/cases/{case_id}/timeline"): frozenset({H, S, A}),
        ("GET", "/v1/cases/{case_id}/timeline.csv"): frozenset({H, S, A}),
        ("GET", "/v1/cases/{case_id}/ledger/verify"): frozenset({S, A}),
        ("GET", "/v1/exports/cases.csv"): frozenset({S, A}),
        ("GET", "/v1/photos/{photo_id}"): EVERYONE,
        ("POST", "/v1/cases/{case_id}/accept"): frozenset({H, S}),
        ("POST", "/v1/cases/{case_id}/rectification-orders"): frozenset({H, S}),
        ("POST", "/v1/cases/{case_id}/progress"): frozenset({H, S}),
        ("POST", "/v1/cases/{case_id}/resolve"): frozenset({H, S}),
        ("POST", "/v1/cases/{case_id}/return"): frozenset({H, S}),
        ("POST", "/v1/cases/{case_id}/reject"): frozenset({H, S}),
        ("POST", "/v1/cases/{case_id}/close"): frozenset({H, S}),
        ("POST", "/v1/cases/{case_id}/verify"): frozenset({S}),
        ("POST", "/v1/cases/{case_id}/confirm"): frozenset({V}),
        ("POST", "/v1/admin/rebuild-projections"): frozenset({A}),
    },
    "statistics": {
        **OPERATIONS,
        **{
            ("GET", f"/v1/stats/{path}"): frozenset({H, S, A})
            for path in (
                "summary",
                "timeseries",
                "leaderboard",
                "report",
                "figures",
                "export/{table}",
                "chart.png",
            )
        },
    },
}
APPS: dict[str, tuple[Callable[[ServiceSettings], FastAPI], type[ServiceSettings]]] = {
    "intake": (intake_app, IntakeSettings),  # type: ignore[dict-item]
    "assignment": (assignment_app, AssignmentSettings),  # type: ignore[dict-item]
    "remediation-tracking": (remediation_app, RemediationSettings),  # type: ignore[dict-item]
    "statistics": (statistics_app, StatsSettings),  # type: ignore[dict-item]
}
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def build(kafka_bootstrap: str, mongo_url: str, namespace: str) -> Callable[[str], FastAPI]:
    def app_of(service: str) -> FastAPI:
        create_app, settings_class = APPS[service]
        return create_app(
            settings_class(
                kafka_bootstrap_servers=kafka_bootstrap,
                mongodb_url=mongo_url,
                mongodb_database=namespace.replace("-", "_"),
                topic_namespace=namespace,
            )
        )

    return app_of


OLD_DEVELOPMENT_SECRET = "gridcase-local-development-secret-not-for-production"


def route_table(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers and mounts."""
    for route in routes:
        if hasattr(route, "original_router"):  # a router included in the app
            yield from route_table(
                route.original_router.routes, prefix + route.include_context.prefix
            )
        elif isinstance(route, Mount):
            yield "MOUNT", prefix + route.path
        else:
            for method in sorted(route.methods - {"HEAD"}):
                yield method, prefix + route.path


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "GC-20260101-AAAAAAAA", path)


def bad_tokens(settings: ServiceSettings) -> dict[str, str]:
    """Tokens every protected route must refuse with 401, each for one reason."""
    now = int(time.time())
    admin = claims_for(settings, subject="a-1", role=A)
    good = TEST_ISSUER.sign(admin)
    header, payload, signature = good.split(".")
    return {
        "expired": TEST_ISSUER.sign({**admin, "iat": now - 900, "exp": now - 61}),
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "alg=none": jwt.encode(admin, None, algorithm="none"),
        "wrong issuer": TEST_ISSUER.sign({**admin, "iss": "http://127.0.0.1:1/realms/gridcase"}),
        "wrong audience": TEST_ISSUER.sign({**admin, "aud": "account"}),
        "over-long lifetime": TEST_ISSUER.sign({**admin, "exp": now + 30 * 24 * 3600}),
        "HS256 with the old development secret": jwt.encode(
            admin, OLD_DEVELOPMENT_SECRET, algorithm="HS256", headers={"kid": TEST_ISSUER.kid}
        ),
        "another key": TestIssuer(kid=TEST_ISSUER.kid).sign(admin),
        "no gridcase role": TEST_ISSUER.sign({**admin, "roles": ["offline_access"]}),
    }


def role_token(settings: ServiceSettings, role: Role) -> str:
    department = "housing-bureau" if role == H else None
    return TEST_ISSUER.sign(
        claims_for(settings, subject=f"{role.value}-1", role=role, department=department)
    )


@pytest.mark.parametrize("service", list(APPS))
def test_every_route_has_an_entry_and_every_entry_a_route(
    build: Callable[[str], FastAPI], service: str
) -> None:
    routes = set(route_table(build(service).routes))
    assert routes - set(EXPECTED[service]) == set(), "routes without an entry"
    assert set(EXPECTED[service]) - routes == set(), "entries without a route"


@pytest.mark.parametrize("service", list(APPS))
async def test_the_gate_answers_as_the_table_says(
    build: Callable[[str], FastAPI], service: str
) -> None:
    app = build(service)
    settings: ServiceSettings = app.state.settings
    tokens = {role: role_token(settings, role) for role in Role}
    refused = bad_tokens(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    wrong: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=30) as http:

        async def call(method: str, path: str, token: str | None) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            url = concrete(path) if method != "MOUNT" else f"{path}/x.js"
            response = await http.request(
                "GET" if method == "MOUNT" else method, url, headers=headers
            )
            return response.status_code

        for (method, path), allowed in EXPECTED[service].items():
            anonymous = await call(method, path, None)
            if allowed == PUBLIC:
                if anonymous in (401, 403):
                    wrong.append(f"{method} {path}: anonymous got {anonymous}, expected public")
                continue
            assert isinstance(allowed, frozenset)
            if anonymous != 401:
                wrong.append(f"{method} {path}: anonymous got {anonymous}, expected 401")
            for role in Role:
                status = await call(method, path, tokens[role])
                if role in allowed and status in (401, 403):
                    wrong.append(
                        f"{method} {path}: {role.value} got {status}, expected past the gate"
                    )
                if role not in allowed and status != 403:
                    wrong.append(f"{method} {path}: {role.value} got {status}, expected 403")
            for reason, token in refused.items():
                status = await call(method, path, token)
                if status != 401:
                    wrong.append(
                        f"{method} {path}: a token with {reason} got {status}, expected 401"
                    )
    assert wrong == []


class Who(StrEnum):
    """Everyone around the matrix's case."""

    ANONYMOUS = "anonymous"
    REPORTER = "its reporter"
    OTHER_VOLUNTEER = "another volunteer"
    LEAD = "a handler of its lead department"
    OTHER_DEPARTMENT = "a handler of another department"
    CO_HANDLING = "a handler of a co-handling department"
    SUPERVISOR = "a supervisor"
    ADMIN = "an admin"


LEAD_DEPARTMENT, CO_DEPARTMENT, OTHER_DEPARTMENT = "housing-bureau", "fire-rescue", "traffic-police"
LISTED, UNLISTED = "200, the case listed", "200, the case not listed"
Cell = int | str


def row(*cells: Cell) -> dict[Who, Cell]:
    """One route's cells, in the order of `Who`."""
    return dict(zip(Who, cells, strict=True))


# Each row: anonymous, the reporter, another volunteer, the lead department's handler,
# another department's, a co-handling department's, a supervisor, an admin.
CASE_READ = row(401, 200, 404, 200, 404, 200, 200, 200)
STAFF_READ = row(401, 403, 403, 200, 404, 200, 200, 200)
ACTION = row(401, 403, 403, 412, 404, 403, 412, 403)
SCOPED: dict[str, dict[tuple[str, str], dict[Who, Cell]]] = {
    "intake": {
        ("GET", "/v1/reports"): row(401, LISTED, UNLISTED, 403, 403, 403, 403, 403),
        # intake knows a case's lead department only: a co-handler works it in remediation
        ("GET", "/v1/reports/{case_id}"): row(401, 200, 404, 200, 404, 404, 200, 200),
        ("GET", "/v1/photos/{photo_id}"): row(401, 200, 404, 200, 404, 404, 200, 200),
    },
    "remediation-tracking": {
        ("GET", "/v1/cases"): row(401, LISTED, UNLISTED, LISTED, UNLISTED, LISTED, LISTED, LISTED),
        ("GET", "/v1/cases/{case_id}"): CASE_READ,
        ("GET", "/v1/photos/{photo_id}"): CASE_READ,
        ("GET", "/v1/cases/{case_id}/timeline"): STAFF_READ,
        ("GET", "/v1/cases/{case_id}/timeline.csv"): STAFF_READ,
        ("GET", "/v1/cases/{case_id}/ledger/verify"): row(401, 403, 403, 403, 403, 403, 200, 200),
        ("POST", "/v1/cases/{case_id}/accept"): ACTION,
        ("POST", "/v1/cases/{case_id}/rectification-orders"): ACTION,
        ("POST", "/v1/cases/{case_id}/progress"): ACTION,
        ("POST", "/v1/cases/{case_id}/resolve"): ACTION,
        ("POST", "/v1/cases/{case_id}/return"): ACTION,
        ("POST", "/v1/cases/{case_id}/reject"): ACTION,
        ("POST", "/v1/cases/{case_id}/close"): ACTION,
        ("POST", "/v1/cases/{case_id}/verify"): row(401, 403, 403, 403, 403, 403, 412, 403),
        ("POST", "/v1/cases/{case_id}/confirm"): row(401, 412, 404, 403, 403, 403, 403, 403),
    },
}
UNSCOPED: dict[str, dict[tuple[str, str], str]] = {
    "intake": {
        ("GET", "/open311/v2/requests.{fmt}"): "Open311's public view of every request",
        ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): "Open311's public view",
    },
    "assignment": {
        (method, f"/supervisor/cases/{{case_id}}{action}"): "supervisors only, who see every case"
        for method, action in (("GET", ""), ("POST", "/reassign"), ("POST", "/split"))
    },
}
CASE_LISTS = {
    ("GET", "/v1/reports"),
    ("GET", "/v1/cases"),
    ("GET", "/open311/v2/requests.{fmt}"),
}
ACTION_BODIES = {
    "rectification-orders": {
        "measure": "rectification-order",
        "deadline": "2030-01-01T00:00:00+08:00",
        "responsible_party": "the owner",
    },
    "progress": {"note": "props set"},
    "resolve": {"note": "wall rebuilt"},
    "return": {"reason": "not ours"},
    "reject": {"reason": "not admissible"},
    "verify": {"passed": True},
    "confirm": {"satisfied": True, "rating": 5},
}


def names_a_case(route: tuple[str, str]) -> bool:
    return route in CASE_LISTS or any(
        f"{{{name}}}" in route[1] for name in ("case_id", "photo_id", "service_request_id")
    )


@pytest.mark.parametrize("service", list(APPS))
def test_every_route_that_names_or_lists_cases_is_scoped_or_says_why_not(
    build: Callable[[str], FastAPI], service: str
) -> None:
    routes = {route for route in route_table(build(service).routes) if names_a_case(route)}
    scoped, unscoped = set(SCOPED.get(service, {})), set(UNSCOPED.get(service, {}))
    assert routes - scoped - unscoped == set(), "routes without a scoped entry or a reason"
    assert (scoped | unscoped) - routes == set(), "entries without a route"
    assert scoped & unscoped == set()


def people(settings: ServiceSettings) -> dict[Who, str | None]:
    """A token for everyone around the case (none for anonymous)."""

    def token(subject: str, role: Role, department: str | None = None) -> str:
        return TEST_ISSUER.sign(
            claims_for(settings, subject=subject, role=role, department=department)
        )

    return {
        Who.ANONYMOUS: None,
        Who.REPORTER: token("v-matrix-reporter", V),
        Who.OTHER_VOLUNTEER: token("v-matrix-other", V),
        Who.LEAD: token("h-matrix-lead", H, LEAD_DEPARTMENT),
        Who.OTHER_DEPARTMENT: token("h-matrix-other", H, OTHER_DEPARTMENT),
        Who.CO_HANDLING: token("h-matrix-co", H, CO_DEPARTMENT),
        Who.SUPERVISOR: token("s-matrix", S),
        Who.ADMIN: token("a-matrix", A),
    }


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def photo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"not done within {timeout_s} s"
        await asyncio.sleep(0.2)


@dataclass
class Case:
    """The matrix's case in both services, with a photo in each."""

    case_id: str
    photo_ids: dict[str, str]
    clients: dict[str, httpx.AsyncClient]
    tokens: dict[Who, str | None]


@pytest.fixture(scope="module")
async def case(kafka_bootstrap: str, mongo_url: str, namespace: str) -> AsyncIterator[Case]:
    database = namespace.replace("-", "_")
    common = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "mongodb_url": mongo_url,
        "topic_namespace": namespace,
    }
    intake_settings = IntakeSettings(
        **common,  # type: ignore[arg-type]
        mongodb_database=f"{database}_intake",
        consumer_group=f"gridcase-intake-{namespace}",
        public_base_url="http://intake",
    )
    remediation_settings = RemediationSettings(
        **common,  # type: ignore[arg-type]
        mongodb_database=f"{database}_remediation",
        consumer_group=f"gridcase-remediation-{namespace}",
        public_base_url="http://remediation",
    )
    intake = intake_app(intake_settings)
    remediation = remediation_app(remediation_settings, workers=("consumer",))
    tokens = people(intake_settings)
    async with (
        intake.router.lifespan_context(intake),
        remediation.router.lifespan_context(remediation),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=intake), base_url="http://intake", timeout=30
        ) as at_intake,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=remediation),
            base_url="http://remediation",
            timeout=30,
        ) as at_remediation,
    ):
        filed = await at_intake.post(
            "/v1/reports",
            data={"report": json.dumps(REPORT)},
            files=[("photos", ("wall.png", photo_png(), "image/png"))],
            headers={**bearer(tokens[Who.REPORTER]), "Idempotency-Key": namespace},
        )
        assert filed.status_code == 201, filed.text
        case_id = filed.json()["case_id"]
        intake_photo = filed.json()["photos"][0]["photo_id"]
        await publish_assignment(remediation_settings, case_id)
        supervisor = bearer(tokens[Who.SUPERVISOR])

        async def assigned_everywhere() -> bool:
            report = await at_intake.get(f"/v1/reports/{case_id}", headers=supervisor)
            case = await at_remediation.get(f"/v1/cases/{case_id}", headers=supervisor)
            return (
                report.status_code == 200
                and report.json().get("department") == LEAD_DEPARTMENT
                and case.status_code == 200
                and case.json()["version"] == 2
            )

        await until(assigned_everywhere)
        lead = bearer(tokens[Who.LEAD])
        path = f"/v1/cases/{case_id}"
        accepted = await at_remediation.post(f"{path}/accept", headers={**lead, "If-Match": '"2"'})
        assert accepted.status_code == 200, accepted.text
        progress = await at_remediation.post(
            f"{path}/progress",
            headers={**lead, "If-Match": '"3"'},
            data={"note": "props set"},
            files=[("photos", ("props.png", photo_png(), "image/png"))],
        )
        assert progress.status_code == 200, progress.text
        (remediation_photo,) = progress.json()["timeline"][-1]["payload"]["photos"]
        yield Case(
            case_id,
            {"intake": intake_photo, "remediation-tracking": remediation_photo["photo_id"]},
            {"intake": at_intake, "remediation-tracking": at_remediation},
            tokens,
        )


REPORT = {
    "category": "housing-safety",
    "severity": "high",
    "description": "Cracked load-bearing wall in a self-built house",
    "location": {"lat": 26.89, "lon": 112.57, "address": "12 Riverside Rd", "district": "D03"},
}


async def publish_assignment(settings: RemediationSettings, case_id: str) -> None:
    """Assignment's decision for the case: the lead department and a co-handling one."""
    now = datetime.now(UTC)
    assigned = new_event(
        CaseAssigned,
        case_id=case_id,
        occurred_at=now,
        payload=CaseAssignedPayload(
            department=LEAD_DEPARTMENT,
            co_departments=[CO_DEPARTMENT],
            handler="h-matrix-lead",
            due=StageDue(
                accept=now + timedelta(hours=4),
                first_response=now + timedelta(days=1),
                resolve=now + timedelta(days=7),
                verify=now + timedelta(days=10),
            ),
        ),
    )
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        settings.case_events_topic,
        service="assignment",
        signer=AsProducers(),
    )
    try:
        await publisher.publish_many([assigned])
    finally:
        await asyncio.to_thread(publisher.close)


@pytest.mark.parametrize("service", list(SCOPED))
async def test_each_answers_for_the_case_as_its_cell_says(case: Case, service: str) -> None:
    http = case.clients[service]
    wrong: list[str] = []
    for (method, path), cells in SCOPED[service].items():
        url = path.format(case_id=case.case_id, photo_id=case.photo_ids[service])
        action = path.rpartition("/")[2]
        for who, expected in cells.items():
            headers = bearer(case.tokens[who])
            if method == "POST":
                headers["If-Match"] = '"999"'
            response = await http.request(
                method,
                url,
                headers=headers,
                json=ACTION_BODIES.get(action, {}) if method == "POST" else None,
            )
            answer: Cell = response.status_code
            if (method, path) in CASE_LISTS and answer == 200:
                items = response.json()["items"]
                listed = case.case_id in [item["case_id"] for item in items]
                answer = LISTED if listed else UNLISTED
            if answer != expected:
                wrong.append(f"{method} {path}, {who.value}: {answer}, expected {expected}")
    assert wrong == []
