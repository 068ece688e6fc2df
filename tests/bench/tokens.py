"""The cost of verifying an access token with the provider's keys cached (µs per token, CPU
time): `python -m tests.bench.tokens`. The token is RS256 with a 2048-bit key and the
claims Keycloak's realm gives (roles, department, audience), as every request carries."""

from typing import Any

import jwt

from gridcase_runtime.auth import Role, verify_token
from gridcase_runtime.settings import ServiceSettings
from tests.bench.signing import per_event_us
from tests.identity import TestIssuer, claims_for


def measure_tokens(count: int = 2000, rounds: int = 7) -> dict[str, Any]:
    issuer = TestIssuer()
    settings = ServiceSettings(GRIDCASE_JWT_ISSUER=issuer.issuer, GRIDCASE_JWKS_URL=issuer.jwks_url)
    claims = claims_for(settings, subject="h-1", role=Role.HANDLER, department="housing-bureau")
    token = issuer.sign(claims)
    verify_token(settings, token)  # the keys fetched once, as the first request does
    key = jwt.PyJWK(issuer.jwks["keys"][0])
    tokens = [token] * count
    try:
        return {
            "tokens": count,
            "algorithm": "RS256 (2048-bit)",
            "jwks_fetches": issuer.jwks_requests,
            "verify_token_us": round(
                per_event_us(lambda: [verify_token(settings, t) for t in tokens], count, rounds), 1
            ),
            "signature_and_claims_us": round(
                per_event_us(
                    lambda: [
                        jwt.decode(t, key, algorithms=["RS256"], audience="gridcase")
                        for t in tokens
                    ],
                    count,
                    rounds,
                ),
                1,
            ),
        }
    finally:
        issuer.server.shutdown()


if __name__ == "__main__":
    for name, value in measure_tokens().items():
        print(f"{name:24} {value}")
