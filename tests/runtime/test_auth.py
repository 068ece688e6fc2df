"""Bearer tokens: only the provider's RS256/ES256 tokens, through its JWKS, with every
claim checked. The provider here is the tests' own issuer (tests/identity.py)."""

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gridcase_runtime import auth
from gridcase_runtime.auth import AuthError, KeySet, Principal, Role, VerifiedTokens, verify_token
from gridcase_runtime.settings import ServiceSettings
from identity import TEST_ISSUER, TestIssuer, claims_for, mint_token

OLD_DEVELOPMENT_SECRET = "gridcase-local-development-secret-not-for-production"


@pytest.fixture
def settings() -> ServiceSettings:
    return ServiceSettings(GRIDCASE_JWT_LEEWAY_S=30, GRIDCASE_JWT_MAX_LIFETIME_S=3600)


def claims(settings: ServiceSettings, **changes: Any) -> dict[str, Any]:
    return {**claims_for(settings, subject="v-1", role=Role.VOLUNTEER, team="team-01"), **changes}


def test_a_provider_token_verifies_with_its_claims(settings: ServiceSettings) -> None:
    token = mint_token(settings, subject="h-7", role=Role.HANDLER, department="housing-bureau")
    principal = verify_token(settings, token)
    assert (principal.subject, principal.role, principal.department) == (
        "h-7",
        Role.HANDLER,
        "housing-bureau",
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": -31}, "expired"),
        ({"nbf": 120}, "not yet valid"),
        ({"iat": 120, "exp": 600}, "not yet valid"),
        ({"iss": "http://127.0.0.1:1/realms/other"}, "(?i)issuer"),
        ({"aud": "account"}, "(?i)audience"),
        ({"iat": -10, "exp": 3600}, "lifetime exceeds"),
        ({"roles": ["default-roles-gridcase"]}, "gridcase role"),
        ({"roles": "admin"}, "list of role names"),
    ],
)
def test_a_token_with_a_wrong_claim_is_refused(
    settings: ServiceSettings, changes: dict[str, Any], reason: str
) -> None:
    """Times are given in seconds from now."""
    now = int(time.time())
    timed = {k: now + v if k in ("exp", "nbf", "iat") else v for k, v in changes.items()}
    with pytest.raises(AuthError, match=reason):
        verify_token(settings, TEST_ISSUER.sign(claims(settings, **timed)))


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss", "aud"])
def test_a_token_without_a_required_claim_is_refused(
    settings: ServiceSettings, missing: str
) -> None:
    incomplete = claims(settings)
    del incomplete[missing]
    with pytest.raises(AuthError):
        verify_token(settings, TEST_ISSUER.sign(incomplete))


def test_clock_skew_within_the_leeway_is_accepted(settings: ServiceSettings) -> None:
    now = int(time.time())
    skewed = claims(settings, iat=now + 20, nbf=now + 20, exp=now + 300)
    assert verify_token(settings, TEST_ISSUER.sign(skewed)).subject == "v-1"


def test_a_tampered_token_is_refused(settings: ServiceSettings) -> None:
    header, payload, signature = mint_token(settings, subject="v-1", role=Role.VOLUNTEER).split(".")
    raised = json.loads(base64.urlsafe_b64decode(payload + "=="))
    raised["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(raised).encode()).decode().rstrip("=")
    with pytest.raises(AuthError, match="Signature"):
        verify_token(settings, f"{header}.{forged}.{signature}")


def test_unsigned_and_shared_secret_tokens_are_refused(settings: ServiceSettings) -> None:
    unsigned = jwt.encode(claims(settings), None, algorithm="none")
    with pytest.raises(AuthError, match="'none' is not accepted"):
        verify_token(settings, unsigned)
    old_secret = jwt.encode(
        claims(settings),
        OLD_DEVELOPMENT_SECRET,
        algorithm="HS256",
        headers={"kid": TEST_ISSUER.kid},
    )
    with pytest.raises(AuthError, match="'HS256' is not accepted"):
        verify_token(settings, old_secret)


def test_a_token_signed_by_another_key_is_refused(settings: ServiceSettings) -> None:
    impostor = TestIssuer(kid=TEST_ISSUER.kid)  # same kid, different key
    with pytest.raises(AuthError, match="Signature"):
        verify_token(settings, impostor.sign(claims(settings)))


def test_an_es256_key_of_the_provider_is_used_for_es256_tokens() -> None:
    issuer = TestIssuer()
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    issuer.jwks["keys"].append({**jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"})
    settings = ServiceSettings(GRIDCASE_JWT_ISSUER=issuer.issuer, GRIDCASE_JWKS_URL=issuer.jwks_url)
    token = jwt.encode(claims(settings), key, algorithm="ES256", headers={"kid": "ec-1"})
    assert verify_token(settings, token).role == Role.VOLUNTEER
    mislabelled = jwt.encode(claims(settings), key, algorithm="ES256", headers={"kid": issuer.kid})
    with pytest.raises(AuthError, match="not a ES256 key"):
        verify_token(settings, mislabelled)


def test_keys_are_cached_and_refetched_for_a_new_kid_at_most_once_per_interval() -> None:
    issuer = TestIssuer(kid="first")
    keys = KeySet(issuer.jwks_url, min_refetch_s=0.5)
    keys.key("first")
    keys.key("first")
    assert issuer.jwks_requests == 1
    for _ in range(20):
        with pytest.raises(AuthError, match="unknown signing key"):
            keys.key("made-up")
    assert issuer.jwks_requests == 1
    time.sleep(0.6)
    issuer.jwks["keys"].append({**issuer.jwks["keys"][0], "kid": "rotated"})
    assert keys.key("rotated").key_id == "rotated"
    assert issuer.jwks_requests == 2


def test_an_unreachable_provider_is_an_auth_error_not_a_crash() -> None:
    keys = KeySet("http://127.0.0.1:9/certs", timeout_s=0.5)
    with pytest.raises(AuthError, match="unavailable"):
        keys.key("any")


def test_leeway_is_capped_at_60_seconds() -> None:
    with pytest.raises(ValueError, match="less than or equal to 60"):
        ServiceSettings(GRIDCASE_JWT_LEEWAY_S=61)


def test_a_token_seen_again_is_not_checked_again(
    settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    check = auth._verified_principal

    def counted(settings: ServiceSettings, token: str) -> tuple[Principal, float]:
        checked.append(token)
        return check(settings, token)

    monkeypatch.setattr(auth, "_verified_principal", counted)
    token = mint_token(settings, subject="v-again", role=Role.VOLUNTEER)
    assert [verify_token(settings, token).subject for _ in range(3)] == ["v-again"] * 3
    assert checked == [token]
    stricter = ServiceSettings(GRIDCASE_JWT_LEEWAY_S=30, GRIDCASE_JWT_MAX_LIFETIME_S=60)
    with pytest.raises(AuthError, match="lifetime exceeds"):  # other settings check anew
        verify_token(stricter, token)


def test_a_remembered_token_is_forgotten_when_it_expires() -> None:
    now = [1000.0]
    verified = VerifiedTokens(capacity=2, clock=lambda: now[0])
    volunteer = Principal(subject="v-1", role=Role.VOLUNTEER)
    verified.put(("a",), volunteer, usable_until=1010.0)
    assert verified.get(("a",)) == volunteer
    now[0] = 1010.5
    assert verified.get(("a",)) is None
    verified.put(("b",), volunteer, usable_until=1020.0)
    verified.put(("c",), volunteer, usable_until=1030.0)
    verified.put(("d",), volunteer, usable_until=1040.0)  # full and none expired: all go
    assert [verified.get((k,)) for k in "bcd"] == [None, None, volunteer]
