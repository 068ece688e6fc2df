"""Event signatures without a broker: what is signed, and every way a record can fail."""

import base64
import json
from pathlib import Path

import pytest

from factories import case_reported
from gridcase_contracts.codec import encode
from gridcase_contracts.codes import Service
from gridcase_runtime.cli import create_signing_key
from gridcase_runtime.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    KeyFileError,
    ProducerError,
    SignatureError,
    SigningKey,
    Verifier,
    load_signing_key,
    signed_bytes,
)
from producers import AsProducers


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    for service in (Service.INTAKE, Service.REMEDIATION_TRACKING):
        create_signing_key(service, tmp_path, tmp_path / "trusted-keys.json")
    return tmp_path


def intake_key(keys: Path) -> SigningKey:
    return load_signing_key(keys / "intake.key", Service.INTAKE)


def verifier(keys: Path) -> Verifier:
    return Verifier.from_file(keys / "trusted-keys.json")


def test_the_signature_covers_key_id_case_id_event_type_and_value(keys: Path) -> None:
    key, value, headers = encode(case_reported())
    signed = dict(intake_key(keys).sign(key, value, headers))
    key_id = signed[KEY_ID_HEADER].decode()
    message = (
        b"\x00\x00\x00\x1bgridcase-event-signature-v1"
        + len(key_id).to_bytes(4, "big")
        + key_id.encode()
        + len(key).to_bytes(4, "big")
        + key
        + b"\x00\x00\x00\x0cCaseReported"
        + len(value).to_bytes(4, "big")
        + value
    )
    assert signed_bytes(key_id, key, b"CaseReported", value) == message
    public = intake_key(keys).private_key.public_key()
    public.verify(base64.b64decode(signed[SIGNATURE_HEADER]), message)  # raises if not
    assert key_id.startswith("intake-")


def test_a_signed_event_verifies_and_is_returned(keys: Path) -> None:
    event = case_reported()
    key, value, headers = encode(event)
    assert verifier(keys).event_of(key, value, intake_key(keys).sign(key, value, headers)) == event


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda k, v, h: (k, v.replace(b"housing", b"fire-hz"), h), "does not verify"),
        (lambda k, v, h: (b"GC-20250101-OTHERCAS", v, h), "does not verify"),
        (
            lambda k, v, h: (k, v, [(n, b"CaseClosed" if n == "event_type" else x) for n, x in h]),
            "does not verify",
        ),
        (lambda k, v, h: (k, v, [(n, x) for n, x in h if n != SIGNATURE_HEADER]), "not signed"),
        (
            lambda k, v, h: (k, v, [(n, b"intake-x" if n == KEY_ID_HEADER else x) for n, x in h]),
            "'intake-x' is not trusted",
        ),
    ],
    ids=["value", "record key", "event_type header", "no signature", "unknown key"],
)
def test_a_changed_or_unsigned_record_fails_the_signature(
    keys: Path, change: object, reason: str
) -> None:
    key, value, headers = encode(case_reported())
    signed = intake_key(keys).sign(key, value, headers)
    changed = change(key, value, signed)  # type: ignore[operator]
    with pytest.raises(SignatureError, match=reason):
        verifier(keys).event_of(*changed)


def test_a_signed_header_or_key_that_differs_from_the_event_fails(keys: Path) -> None:
    event = case_reported("GC-20250101-AAAAAAAA")
    _, value, headers = encode(event)
    other_key = b"GC-20250101-BBBBBBBB"
    with pytest.raises(SignatureError, match="record key differs"):
        verifier(keys).event_of(other_key, value, intake_key(keys).sign(other_key, value, headers))


def test_an_event_type_of_another_producer_fails(keys: Path) -> None:
    key, value, headers = encode(case_reported())
    as_remediation = load_signing_key(
        keys / "remediation-tracking.key", Service.REMEDIATION_TRACKING
    )
    with pytest.raises(
        ProducerError,
        match="CaseReported is produced by intake, but the record is signed by remediation",
    ):
        verifier(keys).event_of(key, value, as_remediation.sign(key, value, headers))


def test_a_rotated_key_still_verifies_what_the_old_key_signed(keys: Path) -> None:
    key, value, headers = encode(case_reported())
    old = intake_key(keys).sign(key, value, headers)
    create_signing_key(Service.INTAKE, keys, keys / "trusted-keys.json")
    new = intake_key(keys).sign(key, value, headers)
    assert dict(old)[KEY_ID_HEADER] != dict(new)[KEY_ID_HEADER]
    rotated = verifier(keys)
    assert rotated.event_of(key, value, old) == rotated.event_of(key, value, new)


def test_key_files_in_the_wrong_form_are_refused_clearly(keys: Path) -> None:
    with pytest.raises(KeyFileError, match="is a key of intake, not of assignment"):
        load_signing_key(keys / "intake.key", Service.ASSIGNMENT)
    broken = keys / "broken.json"
    broken.write_text(
        json.dumps({"keys": [{"key_id": "k", "service": "intake", "public_key": "AA=="}]})
    )
    with pytest.raises(KeyFileError, match="public_key must be 32 bytes, not 1"):
        Verifier.from_file(broken)
    with pytest.raises(KeyFileError, match="cannot read"):
        Verifier.from_file(keys / "missing.json")


def test_the_private_key_file_is_readable_by_its_owner_only(keys: Path) -> None:
    assert (keys / "intake.key").stat().st_mode & 0o777 == 0o600


def test_the_test_signer_signs_as_each_event_types_producer() -> None:
    key, value, headers = encode(case_reported())
    assert dict(AsProducers().sign(key, value, headers))[KEY_ID_HEADER].startswith(b"intake-")
