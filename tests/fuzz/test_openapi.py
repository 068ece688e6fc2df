"""Schemathesis over each service's OpenAPI document, in-process over ASGI: intake,
assignment and remediation-tracking on the real broker and Mongo-wire server, statistics
over a table of finished and open cases. Every generated request is sent with a token of a
role the operation admits; no answer may be a 5xx or break the document's own schema."""

import re
import time
from datetime import UTC, datetime

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from gridcase_assignment.config import AssignmentSettings
from gridcase_assignment.entrypoints.api import create_app as assignment_app
from gridcase_contracts.codes import Category, District, Stage
from gridcase_contracts.envelope import Envelope
from gridcase_intake.config import IntakeSettings
from gridcase_intake.entrypoints.api import create_app as intake_app
from gridcase_remediation.config import RemediationSettings
from gridcase_remediation.entrypoints.api import create_app as remediation_app
from gridcase_runtime.auth import Role
from gridcase_runtime.settings import ServiceSettings
from gridcase_stats.adapters.fakes import FakeCaseSource
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.api import create_app as stats_app
from identity import mint_token
from stories import CaseStory, fixed_case

pytestmark = pytest.mark.integration

EXAMPLES = settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)

ROLES = (
    (r"^/v1/reports", Role.VOLUNTEER),
    (r"^(/v1)?/admin/", Role.ADMIN),
    (r"/confirm$", Role.VOLUNTEER),
    (r"^/supervisor/|^/v1/(cases|exports|photos|stats)", Role.SUPERVISOR),
)
"""The role each service's routes are called with, the first pattern matching the path
(intake's reports are a volunteer's; assignment's and remediation's admin routes an
admin's; a reporter confirms a fix; supervisors read and act on every case and figure)."""


def bearer(service: ServiceSettings, path: str) -> dict[str, str]:
    """The Authorization header for `path`, none for open routes."""
    role = next((role for pattern, role in ROLES if re.search(pattern, path)), None)
    if role is None:
        return {}
    team = "team-01" if role == Role.VOLUNTEER else None
    token = mint_token(service, subject=f"fuzz-{role.value}", role=role, team=team)
    return {"Authorization": f"Bearer {token}"}


NOT_CHECKED = [positive_data_acceptance, negative_data_rejection]
"""Beyond what the document can say: a report needs coordinates, an address or a photo
(a rule across fields and parts), and unknown query parameters are ignored, as HTTP APIs
commonly do. What is checked: no 5xx, and every answer's status, content type, headers
and body as the document declares them."""


class Service:
    """An app with its lifespan running in schemathesis' event loop, and its tokens."""

    def __init__(self, app: FastAPI, settings: ServiceSettings) -> None:
        self.app = app
        self.settings = settings
        self.schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        self.api_key: str | None = None
        self.wait_ready()

    def wait_ready(self, timeout_s: float = 60) -> None:
        """Fuzzing starts once the service is ready (the producer and consumer take a
        moment to join)."""
        deadline = time.monotonic() + timeout_s
        with asgi.get_client(self.app) as client:
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, client.get("/readyz").text
                time.sleep(0.2)

    def issue_api_key(self) -> None:
        """An Open311 api key from intake's admin API, for the operations that take one."""
        path = "/v1/admin/api-keys"
        admin = bearer(self.settings, path)
        with asgi.get_client(self.app) as client:
            answer = client.post(path, json={"name": "fuzz-app"}, headers=admin)
        assert answer.status_code == 201, answer.text
        self.api_key = answer.json()["api_key"]

    def call_and_validate(self, case: schemathesis.Case) -> None:
        headers = bearer(self.settings, case.path)
        for fields in (case.query, case.body):
            if isinstance(fields, dict) and "api_key" in fields and self.api_key:
                fields["api_key"] = self.api_key
        case.call_and_validate(headers=headers, excluded_checks=NOT_CHECKED)


@pytest.fixture(scope="module")
def common(kafka_bootstrap: str, mongo_url: str, namespace: str) -> dict[str, str]:
    return {
        "environment": "test",
        "kafka_bootstrap_servers": kafka_bootstrap,
        "mongodb_url": mongo_url,
        "topic_namespace": namespace,
    }


def own(namespace: str, service: str) -> dict[str, str]:
    """The service's own database and consumer group in this module's namespace."""
    return {
        "mongodb_database": f"{namespace.replace('-', '_')}_{service}",
        "consumer_group": f"{namespace}-{service}",
    }


def stats_events() -> list[Envelope]:
    """Cases in every outcome the figures count, in two districts and categories."""
    start = datetime(2026, 5, 4, 2, tzinfo=UTC)
    cases = [
        fixed_case("GC-FUZZ-1", start),
        fixed_case("GC-FUZZ-2", start, category=Category.SANITATION, district=District.D07)
        .reopened(41)
        .confirmed(42, satisfied=False),
        CaseStory("GC-FUZZ-3", start).assigned(1).overdue(30, Stage.ACCEPT).escalated(31, 1),
        CaseStory("GC-FUZZ-4", start).assigned(1).rejected(2),
        CaseStory("GC-FUZZ-5", start).duplicate(1, "GC-FUZZ-1"),
        CaseStory("GC-FUZZ-6", start, team=None).assigned(1).returned(3),
    ]
    return [event for case in cases for event in case.events]


def fuzz(service: Service, known: dict[str, str] | None = None) -> list[str]:
    """Runs every operation of the service's document, with data that fits it and data
    that does not; path parameters named in `known` also take those values. The failures,
    one line per operation."""
    failures = []
    for result in service.schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        given_known = {name: value for name, value in (known or {}).items() if name in names}
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            *([operation.as_strategy(path_parameters=given_known)] if given_known else []),
        )

        @EXAMPLES
        @given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            service.call_and_validate(case)

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:
            failures.append(f"{operation.label}: {error}")
    return failures


def test_intake(common: dict[str, str], namespace: str) -> None:
    settings = IntakeSettings(**common, **own(namespace, "intake"))
    intake = Service(intake_app(settings), settings)
    intake.issue_api_key()
    failures = fuzz(intake)
    assert not failures, "\n\n".join(failures)


def test_assignment(common: dict[str, str], namespace: str) -> None:
    settings = AssignmentSettings(**common, **own(namespace, "assignment"))
    failures = fuzz(Service(assignment_app(settings), settings))
    assert not failures, "\n\n".join(failures)


def test_remediation(common: dict[str, str], namespace: str) -> None:
    settings = RemediationSettings(**common, **own(namespace, "remediation"))
    failures = fuzz(Service(remediation_app(settings), settings))
    assert not failures, "\n\n".join(failures)


def test_statistics() -> None:
    settings = StatsSettings(environment="test")

    app = stats_app(settings, source=FakeCaseSource(stats_events()))
    failures = fuzz(Service(app, settings), {"table": "counts"})
    assert not failures, "\n\n".join(failures)
