"""Tokens from the OpenID Connect provider, for the `gridcase` command, the demo and the
tests: a person's (password grant, the realm's direct-grant client) or a service account's
(client credentials). Nothing here signs a token."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from gridcase_runtime.settings import ServiceSettings

CLI_CLIENT = "gridcase-cli"


class TokenError(RuntimeError):
    """The provider refused or could not be reached."""


def request_token(settings: ServiceSettings, form: dict[str, str]) -> tuple[str, float]:
    """The access token the provider's token endpoint grants for `form`, and its lifetime."""
    body = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(settings.token_endpoint, data=body, timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:300]
        raise TokenError(f"{settings.token_endpoint} refused: {error.code} {detail}") from error
    except OSError as error:
        raise TokenError(f"{settings.token_endpoint} unreachable: {error}") from error
    return str(answer["access_token"]), float(answer.get("expires_in", 60))


def password_grant(
    settings: ServiceSettings, username: str, password: str, client_id: str = CLI_CLIENT
) -> tuple[str, float]:
    return request_token(
        settings,
        {
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": password,
            "scope": "openid",
        },
    )


def client_credentials(
    settings: ServiceSettings, client_id: str, client_secret: str
) -> tuple[str, float]:
    return request_token(
        settings,
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )


class TokenCache:
    """Tokens kept per user or client until a minute before they expire, so a long run asks
    the provider once per principal and lifetime, not once per request."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def user(self, username: str, password: str) -> str:
        return self._cached(
            ("user", username), lambda: password_grant(self.settings, username, password)
        )

    def client(self, client_id: str, client_secret: str) -> str:
        return self._cached(
            ("client", client_id),
            lambda: client_credentials(self.settings, client_id, client_secret),
        )

    def _cached(self, key: tuple[str, str], fetch: Callable[[], tuple[str, float]]) -> str:
        with self._lock:
            found = self._tokens.get(key)
            if found is None or found[1] - time.monotonic() < 60:
                token, lifetime = fetch()
                found = (token, time.monotonic() + lifetime)
                self._tokens[key] = found
            return found[0]
