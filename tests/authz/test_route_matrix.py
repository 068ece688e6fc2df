"""Who may call what: every route of every app, taken from the apps' own route tables and
checked against the table below. A route missing from the table, or an entry without a
route, fails the test. Each protected route is called anonymously, with each role's token,
and with every kind of bad token. The apps run on the real servers with empty databases of
their own and without their workers, so past the gate a call finds nothing: the gate's
answer (401, 403, or past it) is what is checked.

Which case a caller may see (their own report, their department's case, a co-handling
department's) is decided past the gate and tested with each service: intake's unit
test_access (own and another's reports), remediation's test_service_integration (same,
other and co-handling department, the reporter)."""

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.entrypoints.api import create_app as assignment_app
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app as intake_app
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.entrypoints.api import create_app as remediation_app
from gridcase_runtime.auth import Role
from gridcase_runtime.settings import ServiceSettings
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.api import create_app as statistics_app
from identity import TEST_ISSUER, TestIssuer, claims_for

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
