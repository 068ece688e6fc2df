"""Identity for tests.

- `TEST_ISSUER`: a provider made here for unit and in-process integration tests, which need
  many arbitrary principals: an RSA key generated at start, its JWKS served over real HTTP,
  and tokens in the shape Keycloak's realm gives them (roles, department, team). The root
  conftest points GRIDCASE_JWT_ISSUER and GRIDCASE_JWKS_URL at it. This signing path lives
  only in the tests; the services hold no key.
- `Keycloak`: tokens from the running Keycloak (the end-to-end tests): the realm's demo
  users, and users created through its admin API for any other principal, cached per
  principal.
"""

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from gridcase_runtime.auth import Role
from gridcase_runtime.oidc import TokenCache, client_credentials
from gridcase_runtime.settings import ServiceSettings

DEMO_PASSWORDS = {
    Role.VOLUNTEER: "demo-volunteer",
    Role.HANDLER: "demo-handler",
    Role.SUPERVISOR: "demo-supervisor",
    Role.ADMIN: "demo-admin",
}


class TestIssuer:
    """An RS256 key pair whose public half is served as a JWKS on 127.0.0.1."""

    __test__ = False  # not a test class

    def __init__(self, kid: str = "test-key-1") -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        self.jwks = {"keys": [{**public_jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}
        self.jwks_requests = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.jwks_requests += 1
                body = json.dumps(issuer.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = f"{base}/realms/test"
        self.jwks_url = f"{base}/certs"

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


TEST_ISSUER = TestIssuer()


def claims_for(
    settings: ServiceSettings,
    *,
    subject: str,
    role: Role,
    department: str | None = None,
    team: str | None = None,
    name: str | None = None,
    ttl_s: int = 600,
) -> dict[str, Any]:
    """The claims Keycloak's realm puts in an access token for such a person."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": [role.value, "default-roles-gridcase"],
        "iss": settings.jwt_issuer,
        "aud": [settings.jwt_audience, "account"],
        "iat": now,
        "exp": now + ttl_s,
        "jti": str(uuid.uuid4()),
    }
    for claim, value in (("department", department), ("team", team), ("name", name)):
        if value:
            claims[claim] = value
    return claims


def mint_token(
    settings: ServiceSettings,
    *,
    subject: str,
    role: Role,
    department: str | None = None,
    team: str | None = None,
    name: str | None = None,
    ttl_s: int = 3600,
) -> str:
    """A token of the test issuer for any principal (unit and in-process tests only). It
    lives an hour: modules mint theirs at import, and a whole run can outlast ten minutes."""
    if role == Role.HANDLER and not department:
        raise ValueError("a handler token needs a department")
    return TEST_ISSUER.sign(
        claims_for(
            settings,
            subject=subject,
            role=role,
            department=department,
            team=team,
            name=name,
            ttl_s=ttl_s,
        )
    )


def trust_test_issuer() -> None:
    """Points the settings every test builds at the test issuer."""
    os.environ["GRIDCASE_JWT_ISSUER"] = TEST_ISSUER.issuer
    os.environ["GRIDCASE_JWKS_URL"] = TEST_ISSUER.jwks_url


class Keycloak:
    """Tokens from the running Keycloak. Demo users sign in with their demo passwords;
    any other principal is created once as a realm user through the admin API (the
    gridcase-provisioner service account), then signs in like anyone else."""

    def __init__(self, url: str, provisioner_secret: str) -> None:
        self.url = url
        self.settings = ServiceSettings(GRIDCASE_JWT_ISSUER=f"{url}/realms/gridcase")
        self.provisioner_secret = provisioner_secret
        self.tokens = TokenCache(self.settings)
        self._password = f"test-{uuid.uuid4().hex}"
        self._created: dict[str, str] = {}

    def demo(self, username: str, role: Role) -> dict[str, str]:
        """Authorization headers of a demo user of the realm."""
        return bearer(self.tokens.user(username, DEMO_PASSWORDS[role]))

    def person(
        self, username: str, role: Role, *, department: str | None = None, team: str | None = None
    ) -> dict[str, str]:
        """Authorization headers of a realm user with this role and these attributes,
        created on first use; the token's sub is the returned user id."""
        if username not in self._created:
            self._created[username] = self._create_user(username, role, department, team)
        return bearer(self.tokens.user(username, self._password))

    @property
    def password(self) -> str:
        """The password of every realm user created here."""
        return self._password

    def user_id(self, username: str) -> str:
        return self._created[username]

    def _admin(self, method: str, path: str, body: Any = None) -> urllib.request.Request:
        token, _ = client_credentials(
            self.settings, "gridcase-provisioner", self.provisioner_secret
        )
        return urllib.request.Request(
            f"{self.url}/admin/realms/gridcase{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    def _create_user(
        self, username: str, role: Role, department: str | None, team: str | None
    ) -> str:
        attributes = {k: [v] for k, v in (("department", department), ("team", team)) if v}
        user = {
            "username": username,
            "enabled": True,
            "email": f"{username}@gridcase.example.org",
            "emailVerified": True,
            "firstName": "Test",
            "lastName": username,
            "attributes": attributes,
            "credentials": [{"type": "password", "value": self._password, "temporary": False}],
        }
        try:
            with urllib.request.urlopen(self._admin("POST", "/users", user), timeout=30) as made:
                user_id = made.headers["Location"].rsplit("/", 1)[1]
        except urllib.error.HTTPError as error:
            if error.code != 409:
                raise
            query = urllib.parse.urlencode({"username": username, "exact": "true"})
            with urllib.request.urlopen(self._admin("GET", f"/users?{query}"), timeout=30) as found:
                user_id = json.load(found)[0]["id"]
            reset = {"type": "password", "value": self._password, "temporary": False}
            urllib.request.urlopen(
                self._admin("PUT", f"/users/{user_id}/reset-password", reset), timeout=30
            ).close()
        with urllib.request.urlopen(self._admin("GET", f"/roles/{role.value}"), timeout=30) as got:
            role_representation = json.load(got)
        urllib.request.urlopen(
            self._admin("POST", f"/users/{user_id}/role-mappings/realm", [role_representation]),
            timeout=30,
        ).close()
        return str(user_id)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
