"""Bearer tokens, roles and Open311 api keys."""

import pytest
from pydantic import ValidationError

from gridcase_runtime.auth import (
    AuthError,
    Role,
    create_api_key,
    mint_token,
    verify_api_key,
    verify_token,
)
from gridcase_runtime.cli import main as cli
from gridcase_runtime.settings import ServiceSettings


@pytest.fixture
def settings() -> ServiceSettings:
    return ServiceSettings(GRIDCASE_JWT_SECRET="s" * 40)


def test_a_minted_token_verifies_with_its_claims(settings: ServiceSettings) -> None:
    token = mint_token(settings, subject="h-7", role=Role.HANDLER, department="housing-bureau")
    principal = verify_token(settings, token)
    assert (principal.subject, principal.role, principal.department) == (
        "h-7",
        Role.HANDLER,
        "housing-bureau",
    )


def test_expired_foreign_and_misaddressed_tokens_are_refused(settings: ServiceSettings) -> None:
    expired = mint_token(settings, subject="v", role=Role.VOLUNTEER, ttl_s=-10)
    with pytest.raises(AuthError, match="expired"):
        verify_token(settings, expired)
    foreign = mint_token(
        ServiceSettings(GRIDCASE_JWT_SECRET="x" * 40), subject="v", role=Role.VOLUNTEER
    )
    with pytest.raises(AuthError, match="Signature"):
        verify_token(settings, foreign)
    elsewhere = mint_token(
        ServiceSettings(GRIDCASE_JWT_SECRET="s" * 40, GRIDCASE_JWT_AUDIENCE="other"),
        subject="v",
        role=Role.VOLUNTEER,
    )
    with pytest.raises(AuthError, match=r"(?i)audience"):
        verify_token(settings, elsewhere)


def test_a_handler_needs_a_department(settings: ServiceSettings) -> None:
    with pytest.raises(ValueError, match="department"):
        mint_token(settings, subject="h", role=Role.HANDLER)


def test_api_keys_name_their_client_and_cannot_be_forged(settings: ServiceSettings) -> None:
    key = create_api_key(settings, "city-app")
    assert verify_api_key(settings, key) == "city-app"
    with pytest.raises(AuthError):
        verify_api_key(settings, key[:-2] + "xx")
    with pytest.raises(AuthError):
        verify_api_key(settings, "gck_city-app_123456.abc")


def test_production_refuses_the_local_default_secret() -> None:
    with pytest.raises(ValidationError, match="GRIDCASE_JWT_SECRET must be set"):
        ServiceSettings(GRIDCASE_ENV="production")
    assert ServiceSettings(GRIDCASE_ENV="production", GRIDCASE_JWT_SECRET="p" * 40)


def test_cli_prints_a_verifiable_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["token", "--role", "supervisor", "--sub", "s-1"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_token(ServiceSettings(), token).role == Role.SUPERVISOR
    assert cli(["api-key", "create", "--name", "demo"]) == 0
    assert verify_api_key(ServiceSettings(), capsys.readouterr().out.strip()) == "demo"
    assert cli(["token", "--role", "handler", "--sub", "h-1"]) == 2
