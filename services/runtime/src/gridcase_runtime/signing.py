"""Signed case events: every record is signed by the service that produced it, and a
consumer accepts a record only if the signature verifies under a trusted key of some
service AND the record's event type is one that service produces (as `contracts` declares).

Algorithm: Ed25519 (RFC 8032): 32-byte keys, 64-byte signatures, deterministic (no nonce
to get wrong), and tens of microseconds per signature or verification.

Where it lives: two Kafka headers, `gridcase-key-id` (which key signed) and
`gridcase-signature` (the signature, base64). What is signed: the concatenation, each
part preceded by its length as 4 big-endian bytes, of
    b"gridcase-event-signature-v1", the key id, the record key (the case id),
    the `event_type` header, the record value (the event's JSON bytes, exactly as sent).
The consumer also checks that the value's event_type and case_id equal the signed header
and key, so no part of a signed record can be swapped for another record's.

Keys: a service's private key is a JSON file {"key_id", "service", "private_key"} (the
raw 32-byte seed, base64) given to that service alone (`<PREFIX>SIGNING_KEY_FILE`). The
trusted public keys of every service are one JSON file {"keys": [{"key_id", "service",
"public_key"}, ...]} that every consumer reads (`GRIDCASE_TRUSTED_KEYS_FILE`); a service
may have several keys in it, so retired keys keep verifying the events they signed."""

import base64
import binascii
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gridcase_contracts.codec import decode
from gridcase_contracts.codes import Service
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import EVENTS_BY_NAME, CaseEvent
from gridcase_contracts.topics import Headers

KEY_ID_HEADER = "gridcase-key-id"
SIGNATURE_HEADER = "gridcase-signature"
SIGNATURE_CONTEXT = b"gridcase-event-signature-v1"

RecordHeaders = list[tuple[str, bytes]]


class UntrustedRecordError(ValueError):
    """A record whose origin cannot be trusted; it goes to the dead-letter topic."""

    reason = "untrusted"
    """The dead-letter reason (the gridcase_dlq_records_total label)."""


class SignatureError(UntrustedRecordError):
    """The record is unsigned, signed by an unknown key, or its signature does not verify."""

    reason = "signature"


class ProducerError(UntrustedRecordError):
    """The record was signed by a service that does not produce its event type."""

    reason = "producer"


class KeyFileError(ValueError):
    """A key file that is missing or not in the expected form."""


def signed_bytes(key_id: str, key: bytes, event_type: bytes, value: bytes) -> bytes:
    """The exact bytes a signature covers (see the module docstring)."""
    parts = (SIGNATURE_CONTEXT, key_id.encode(), key, event_type, value)
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _header(headers: Sequence[tuple[str, bytes | None]], name: str) -> bytes | None:
    for header, value in headers:
        if header == name:
            return value
    return None


class RecordSigner(Protocol):
    def sign(self, key: bytes, value: bytes, headers: RecordHeaders) -> RecordHeaders:
        """`headers` with the signature headers added."""
        ...


@dataclass(frozen=True)
class SigningKey:
    """One service's private key and its id."""

    key_id: str
    service: Service
    private_key: Ed25519PrivateKey

    def sign(self, key: bytes, value: bytes, headers: RecordHeaders) -> RecordHeaders:
        event_type = _header(headers, Headers.EVENT_TYPE) or b""
        signature = self.private_key.sign(signed_bytes(self.key_id, key, event_type, value))
        return [
            *headers,
            (KEY_ID_HEADER, self.key_id.encode()),
            (SIGNATURE_HEADER, base64.b64encode(signature)),
        ]

    def public_entry(self) -> dict[str, str]:
        """This key's entry in the trusted-keys file."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "key_id": self.key_id,
            "service": self.service.value,
            "public_key": base64.b64encode(raw).decode(),
        }

    @classmethod
    def generate(cls, service: Service) -> "SigningKey":
        key_id = f"{service.value}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
        return cls(key_id, service, Ed25519PrivateKey.generate())

    def to_json(self) -> str:
        seed = self.private_key.private_bytes_raw()
        return json.dumps(
            {
                "key_id": self.key_id,
                "service": self.service.value,
                "private_key": base64.b64encode(seed).decode(),
            }
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text())
    except OSError as error:
        raise KeyFileError(f"cannot read {path}: {error.strerror}") from error
    except ValueError as error:
        raise KeyFileError(f"{path} is not JSON: {error}") from error
    if not isinstance(found, dict):
        raise KeyFileError(f"{path} must hold a JSON object")
    return found


def _key_bytes(encoded: object, path: Path, field: str) -> bytes:
    try:
        raw = base64.b64decode(str(encoded), validate=True)
    except binascii.Error as error:
        raise KeyFileError(f"{path}: {field} is not base64") from error
    if len(raw) != 32:
        raise KeyFileError(f"{path}: {field} must be 32 bytes, not {len(raw)}")
    return raw


def load_signing_key(path: Path, service: Service) -> SigningKey:
    """The private key in `path`, which must belong to `service`."""
    found = _read_json(path)
    try:
        key_id, owner, seed = found["key_id"], found["service"], found["private_key"]
    except KeyError as error:
        raise KeyFileError(f"{path} has no {error.args[0]}") from error
    if owner != service.value:
        raise KeyFileError(f"{path} is a key of {owner}, not of {service.value}")
    private = Ed25519PrivateKey.from_private_bytes(_key_bytes(seed, path, "private_key"))
    return SigningKey(str(key_id), service, private)


@dataclass(frozen=True)
class TrustedKey:
    service: Service
    public_key: Ed25519PublicKey


class Verifier:
    """Checks records against the trusted public keys (key id -> service and key)."""

    def __init__(self, keys: dict[str, TrustedKey]) -> None:
        self.keys = keys

    @classmethod
    def from_file(cls, path: Path) -> "Verifier":
        entries = _read_json(path).get("keys")
        if not isinstance(entries, list):
            raise KeyFileError(f"{path} must hold {{'keys': [...]}}")
        keys: dict[str, TrustedKey] = {}
        for entry in entries:
            try:
                service = Service(entry["service"])
                raw = _key_bytes(entry["public_key"], path, "public_key")
                keys[str(entry["key_id"])] = TrustedKey(
                    service, Ed25519PublicKey.from_public_bytes(raw)
                )
            except (KeyError, TypeError, ValueError) as error:
                if isinstance(error, KeyFileError):
                    raise
                raise KeyFileError(f"{path}: a key entry is malformed: {error!r}") from error
        return cls(keys)

    def event_of(
        self, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes | None]]
    ) -> CaseEvent:
        """The record's event, provided its signature verifies and its signer produces its
        type; raises UntrustedRecordError, or ValueError for a record that is not an event."""
        signer = self.signer_of(key, value, headers)
        event = decode(value)
        self.check_producer(signer, event, key, headers)
        return event

    def signer_of(
        self, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes | None]]
    ) -> Service:
        """The service whose trusted key signed this record; raises SignatureError."""
        key_id = _header(headers, KEY_ID_HEADER)
        signature = _header(headers, SIGNATURE_HEADER)
        if not key_id or not signature:
            raise SignatureError("the record is not signed")
        trusted = self.keys.get(key_id.decode(errors="replace"))
        if trusted is None:
            raise SignatureError(f"key {key_id.decode(errors='replace')!r} is not trusted")
        event_type = _header(headers, Headers.EVENT_TYPE) or b""
        try:
            trusted.public_key.verify(
                base64.b64decode(signature, validate=True),
                signed_bytes(key_id.decode(), key or b"", event_type, value),
            )
        except (InvalidSignature, binascii.Error) as error:
            raise SignatureError(
                f"the signature does not verify under key {key_id.decode()}"
            ) from error
        return trusted.service

    @staticmethod
    def check_producer(
        signer: Service,
        event: Envelope,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes | None]],
    ) -> None:
        """The event must be of a type `signer` produces, and be what was signed."""
        if (_header(headers, Headers.EVENT_TYPE) or b"") != event.event_type.encode():
            raise SignatureError("the signed event_type header differs from the event's")
        if (key or b"") != event.case_id.encode():
            raise SignatureError("the signed record key differs from the event's case_id")
        producer = EVENTS_BY_NAME[event.event_type].producer_service
        if producer != signer:
            raise ProducerError(
                f"{event.event_type} is produced by {producer.value}, "
                f"but the record is signed by {signer.value}"
            )


def write_private_key(directory: Path, key: SigningKey) -> Path:
    """Writes `key` to `<directory>/<service>.key`, readable by its owner only."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key.service.value}.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key.to_json() + "\n")
    return path


def add_trusted_key(path: Path, key: SigningKey) -> None:
    """Adds `key`'s public half to the trusted-keys file (created if missing); the keys
    already there stay, so events they signed keep verifying."""
    entries = _read_json(path).get("keys", []) if path.exists() else []
    entries = [e for e in entries if e.get("key_id") != key.key_id] + [key.public_entry()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"keys": entries}, indent=2) + "\n")
