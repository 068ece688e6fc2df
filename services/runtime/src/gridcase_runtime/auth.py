"""JWT bearer tokens with roles, and Open311 api keys, for every service."""

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gridcase_runtime.settings import ServiceSettings


class Role(StrEnum):
    VOLUNTEER = "volunteer"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    role: Role
    department: str | None = None
    team: str | None = None
    name: str | None = None


class AuthError(Exception):
    """The token is missing, malformed, expired or not ours."""


def mint_token(
    settings: ServiceSettings,
    *,
    subject: str,
    role: Role,
    department: str | None = None,
    team: str | None = None,
    name: str | None = None,
    ttl_s: int = 8 * 3600,
) -> str:
    """Signs an HS256 token with the shared secret (local use and tests)."""
    if role == Role.HANDLER and not department:
        raise ValueError("a handler token needs a department")
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    for claim, value in (("department", department), ("team", team), ("name", name)):
        if value:
            claims[claim] = value
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def verify_token(settings: ServiceSettings, token: str) -> Principal:
    """Checks signature, issuer, audience and expiry; returns who the token speaks for."""
    try:
        if settings.jwks_url:
            client = _jwks_clients.setdefault(settings.jwks_url, jwt.PyJWKClient(settings.jwks_url))
            key = client.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256", "ES256"],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        else:
            claims = jwt.decode(
                token,
                settings.jwt_secret.get_secret_value(),
                algorithms=["HS256"],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
    except jwt.PyJWTError as error:
        raise AuthError(str(error)) from error
    return principal_of(claims)


_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SUBJECT = re.compile(r"[^\x00-\x1f\x7f]{1,128}")
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def _claim(claims: dict[str, Any], name: str, form: re.Pattern[str]) -> str | None:
    """A string claim in its expected form, or None if absent; AuthError otherwise."""
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not form.fullmatch(value):
        raise AuthError(f"claim {name} is not a valid {name}")
    return value


def principal_of(claims: dict[str, Any]) -> Principal:
    """The caller a verified token's claims describe. Every claim is type-checked here,
    before any reaches a query: department and team are codes, sub and name plain strings
    (a list, object or number is refused)."""
    subject = _claim(claims, "sub", _SUBJECT)
    role_name = claims.get("role")
    if subject is None or not isinstance(role_name, str) or role_name not in set(Role):
        raise AuthError("token without a valid sub and role")
    role = Role(role_name)
    department = _claim(claims, "department", _CODE)
    if role == Role.HANDLER and department is None:
        raise AuthError("handler token without a department claim")
    return Principal(
        subject=subject,
        role=role,
        department=department,
        team=_claim(claims, "team", _CODE),
        name=_claim(claims, "name", _NAME),
    )


_bearer = HTTPBearer(auto_error=False)


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    settings: ServiceSettings = request.app.state.settings
    try:
        return verify_token(settings, credentials.credentials)
    except AuthError as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"invalid token: {error}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from error


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """FastAPI dependency marker: the caller, if their role is one of `roles`; else 403.

    Use as `Annotated[Principal, require_roles(Role.HANDLER)]`."""

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role.value} may not do this ({allowed})",
            )
        return principal

    return Depends(check)


# --- Open311 api keys ---------------------------------------------------------------

API_KEY_PREFIX = "gck"


def _api_key_signature(settings: ServiceSettings, body: str) -> str:
    digest = hmac.new(
        settings.jwt_secret.get_secret_value().encode(), f"open311:{body}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def create_api_key(settings: ServiceSettings, name: str) -> str:
    """A new Open311 api_key for client `name`, verifiable without a lookup."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError("an api key name may hold letters, digits, '-' and '_' only")
    body = f"{API_KEY_PREFIX}_{name}_{secrets.token_hex(6)}"
    return f"{body}.{_api_key_signature(settings, body)}"


def verify_api_key(settings: ServiceSettings, api_key: str) -> str:
    """The client name an api_key was issued to; raises AuthError if it is not genuine."""
    body, _, signature = api_key.rpartition(".")
    prefix, _, rest = body.partition("_")
    name = rest.rpartition("_")[0]
    if (
        prefix != API_KEY_PREFIX
        or not name
        or not hmac.compare_digest(signature, _api_key_signature(settings, body))
    ):
        raise AuthError("invalid api_key")
    return name
