"""Event-signing keys for tests: the services' keys (created per test session, or the
local ones under .local/signing), and a signer that signs each record with the key of the
service that produces its event type, as those services themselves would."""

import os
from pathlib import Path

from gridcase_contracts.codes import Service
from gridcase_contracts.events import EVENTS_BY_NAME
from gridcase_contracts.topics import Headers
from gridcase_runtime.cli import PRODUCERS, create_signing_key
from gridcase_runtime.signing import RecordHeaders, SigningKey, Verifier, load_signing_key

ROOT = Path(__file__).resolve().parents[1]
LOCAL_KEYS = ROOT / ".local" / "signing"
ENV_PREFIXES = {
    Service.INTAKE: "INTAKE",
    Service.ASSIGNMENT: "ASSIGNMENT",
    Service.REMEDIATION_TRACKING: "REMEDIATION",
}
"""Each producing service's settings prefix (its key is <PREFIX>_SIGNING_KEY_FILE)."""


def create_keys(directory: Path) -> None:
    """New keys for every producing service in `directory`, put in the environment."""
    trusted = directory / "trusted-keys.json"
    for service in PRODUCERS:
        create_signing_key(service, directory, trusted)
        os.environ[f"{ENV_PREFIXES[service]}_SIGNING_KEY_FILE"] = str(
            directory / f"{service.value}.key"
        )
    os.environ["GRIDCASE_TRUSTED_KEYS_FILE"] = str(trusted)


def key_of(service: Service) -> SigningKey:
    default = LOCAL_KEYS / f"{service.value}.key"
    path = os.environ.get(f"{ENV_PREFIXES[service]}_SIGNING_KEY_FILE", str(default))
    return load_signing_key(Path(path), service)


def trusted() -> Verifier:
    default = LOCAL_KEYS / "trusted-keys.json"
    return Verifier.from_file(Path(os.environ.get("GRIDCASE_TRUSTED_KEYS_FILE", str(default))))


class AsProducers:
    """Signs every record with its event type's producer's key."""

    def __init__(self) -> None:
        self.keys = {service: key_of(service) for service in PRODUCERS}

    def sign(self, key: bytes, value: bytes, headers: RecordHeaders) -> RecordHeaders:
        event_type = dict(headers)[Headers.EVENT_TYPE].decode()
        producer = EVENTS_BY_NAME[event_type].producer_service
        return self.keys[producer].sign(key, value, headers)
