"""Open311 api keys: `gck_<key id>_<secret>`, issued by an administrator and shown once.

Only a salted SHA-256 of the secret is stored. The secret is 256 random bits, so nothing
can guess it and a slow password hash would buy nothing; the salt makes every stored hash
unique. Checking a key needs its stored record only: no server secret exists that could
leak and let someone make keys."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

PREFIX = "gck"
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
_KEY = re.compile(rf"{PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})")


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    name: str
    salt: str
    digest: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def issue(name: str, *, by: str, now: datetime) -> tuple[str, ApiKeyRecord]:
    """A new key for client `name`: the key itself (give it out once) and what is stored."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError("an api key name is a lower-case code: letters, digits and '-'")
    key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    record = ApiKeyRecord(key_id, name, salt, _digest(salt, secret), now, by)
    return f"{PREFIX}_{key_id}_{secret}", record


def key_id_of(api_key: str) -> str | None:
    """The key id an api_key names, or None if it is not shaped like one of ours."""
    match = _KEY.fullmatch(api_key)
    return match.group(1) if match else None


def genuine(record: ApiKeyRecord, api_key: str) -> bool:
    """Whether `api_key` is the live key `record` was issued for."""
    match = _KEY.fullmatch(api_key)
    return (
        match is not None
        and match.group(1) == record.key_id
        and record.revoked_at is None
        and hmac.compare_digest(_digest(record.salt, match.group(2)), record.digest)
    )
