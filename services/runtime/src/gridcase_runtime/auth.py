"""Bearer tokens of the OpenID Connect provider (Keycloak), verified by every service."""

import asyncio
import json
import math
import re
import threading
import time
import urllib.request
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


ALGORITHMS = ("RS256", "ES256")


class KeySet:
    """The provider's signing keys from its JWKS URL: fetched on first use, kept for
    `max_age_s`, fetched again when a token names an unknown `kid` (a key rotation), but at
    most once per `min_refetch_s` so that made-up kids cannot flood the provider."""

    def __init__(
        self, url: str, *, max_age_s: float = 3600, min_refetch_s: float = 10, timeout_s: float = 5
    ) -> None:
        self.url = url
        self.max_age_s = max_age_s
        self.min_refetch_s = min_refetch_s
        self.timeout_s = timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -math.inf
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > self.max_age_s or (kid not in self._keys and age > self.min_refetch_s):
                self._fetch()
            key = self._keys.get(kid)
        if key is None:
            raise AuthError(f"unknown signing key {kid!r}")
        return key

    def _fetch(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout_s) as response:
                document = json.load(response)
            keys = jwt.PyJWKSet.from_dict(document).keys
        except (OSError, ValueError, jwt.PyJWTError) as error:
            self._fetched_at = time.monotonic()  # an unreachable provider is asked again later
            raise AuthError(f"the provider's keys are unavailable: {error}") from error
        self._keys = {
            key.key_id: key
            for key in keys
            if key.key_id and key.public_key_use in (None, "sig")
            if key.algorithm_name in ALGORITHMS
        }
        self._fetched_at = time.monotonic()


_key_sets: dict[str, KeySet] = {}


class VerifiedTokens:
    """Tokens that passed every check, with who they speak for, until they expire (within
    the leeway): a token seen again costs a lookup instead of the signature check, most of
    verify_token's 1.5-2.5 ms. Keyed by the settings the checks used as well, and bounded:
    when full, expired entries go, and if none had expired, all of them."""

    def __init__(self, capacity: int = 10_000, clock: Any = time.time) -> None:
        self.capacity = capacity
        self.clock = clock
        self._entries: dict[tuple[Any, ...], tuple[Principal, float]] = {}

    def get(self, key: tuple[Any, ...]) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, usable_until = entry
        if self.clock() > usable_until:
            self._entries.pop(key, None)
            return None
        return principal

    def put(self, key: tuple[Any, ...], principal: Principal, usable_until: float) -> None:
        if len(self._entries) >= self.capacity:
            now = self.clock()
            self._entries = {k: e for k, e in self._entries.items() if e[1] >= now}
            if len(self._entries) >= self.capacity:
                self._entries = {}
        self._entries[key] = (principal, usable_until)


_verified = VerifiedTokens()


def verify_token(settings: ServiceSettings, token: str) -> Principal:
    """Checks the provider's signature (RS256 or ES256 through its JWKS), issuer, audience,
    expiry, not-before, issued-at and the lifetime cap; returns who the token speaks for.
    A token that passed is remembered until it expires (VerifiedTokens)."""
    known = remembered(settings, token)
    if known is not None:
        return known
    principal, expires_at = _verified_principal(settings, token)
    _verified.put(_cache_key(settings, token), principal, expires_at + settings.jwt_leeway_s)
    return principal


def remembered(settings: ServiceSettings, token: str) -> Principal | None:
    """Who a token verified before speaks for, if it has not expired since."""
    return _verified.get(_cache_key(settings, token))


def _cache_key(settings: ServiceSettings, token: str) -> tuple[Any, ...]:
    return (
        settings.jwks_endpoint,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_leeway_s,
        settings.jwt_max_lifetime_s,
        token,
    )


def _verified_principal(settings: ServiceSettings, token: str) -> tuple[Principal, float]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise AuthError(str(error)) from error
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALGORITHMS:
        raise AuthError(f"algorithm {algorithm!r} is not accepted")
    if not isinstance(kid, str) or not kid:
        raise AuthError("token without a key id")
    key_set = _key_sets.setdefault(settings.jwks_endpoint, KeySet(settings.jwks_endpoint))
    key = key_set.key(kid)
    if key.algorithm_name != algorithm:
        raise AuthError(f"key {kid!r} is not a {algorithm} key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise AuthError(str(error)) from error
    if not isinstance(claims["iat"], int | float) or isinstance(claims["iat"], bool):
        raise AuthError("iat is not a time")
    if claims["exp"] - claims["iat"] > settings.jwt_max_lifetime_s:
        raise AuthError(f"token lifetime exceeds {settings.jwt_max_lifetime_s} s")
    return principal_of(claims), float(claims["exp"])


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


# When a token carries several of our roles, the one with the widest rights speaks.
_ROLE_PRECEDENCE = (Role.ADMIN, Role.SUPERVISOR, Role.HANDLER, Role.VOLUNTEER)


def principal_of(claims: dict[str, Any]) -> Principal:
    """The caller a verified token's claims describe. Every claim is type-checked here,
    before any reaches a query: roles a list of strings (the provider's realm roles, of
    which ours count), department and team codes, sub and name plain strings (a list,
    object or number is refused). The name is the display name, else the username."""
    subject = _claim(claims, "sub", _SUBJECT)
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise AuthError("claim roles is not a list of role names")
    ours = [role for role in _ROLE_PRECEDENCE if role.value in roles]
    if subject is None or not ours:
        raise AuthError("token without a valid sub and a gridcase role")
    role = ours[0]
    department = _claim(claims, "department", _CODE)
    if role == Role.HANDLER and department is None:
        raise AuthError("handler token without a department claim")
    return Principal(
        subject=subject,
        role=role,
        department=department,
        team=_claim(claims, "team", _CODE),
        name=_claim(claims, "name", _NAME) or _claim(claims, "preferred_username", _NAME),
    )


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401. A token verified before is served
    on the event loop; a new one is checked in a thread (the check may fetch the JWKS)."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    settings: ServiceSettings = request.app.state.settings
    token = credentials.credentials
    known = remembered(settings, token)
    if known is not None:
        return known
    try:
        return await asyncio.to_thread(verify_token, settings, token)
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

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role.value} may not do this ({allowed})",
            )
        return principal

    return Depends(check)
