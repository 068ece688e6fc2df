"""Signed events through the real broker: the runtime consumer dead-letters a record with
a bad signature and one signed by a service that does not produce its type, and accepts
events signed before a key rotation."""

import asyncio
from pathlib import Path
from typing import NamedTuple

import pytest
from runtime.test_kafka_integration import consume_until, raw_records

from factories import case_reported
from gridcase_contracts.codec import encode
from gridcase_contracts.codes import Service
from gridcase_contracts.envelope import Envelope
from gridcase_contracts.topics import Headers, TopicSpec
from gridcase_runtime.cli import create_signing_key
from gridcase_runtime.kafka_consumer import Delivery, EventConsumer
from gridcase_runtime.kafka_producer import EventPublisher
from gridcase_runtime.signing import RecordHeaders, SigningKey, Verifier, load_signing_key

pytestmark = pytest.mark.integration


class Signed(NamedTuple):
    event: Envelope
    key: bytes
    value: bytes
    headers: RecordHeaders


async def test_untrusted_records_go_to_the_dlq_and_rotated_keys_still_verify(
    kafka_bootstrap: str,
    topics: tuple[TopicSpec, TopicSpec],
    publisher: EventPublisher,
    tmp_path: Path,
) -> None:
    trusted = tmp_path / "trusted-keys.json"
    for service in (Service.INTAKE, Service.ASSIGNMENT):
        create_signing_key(service, tmp_path, trusted)
    old_intake = load_signing_key(tmp_path / "intake.key", Service.INTAKE)
    assignment = load_signing_key(tmp_path / "assignment.key", Service.ASSIGNMENT)
    case_id = "GC-20250101-SIGNEDXX"

    def record(signer: SigningKey, *, reformat: bool = False) -> Signed:
        event = case_reported(case_id)
        key, value, headers = encode(event)
        signed = signer.sign(key, value, headers)
        # The same JSON with one more space: equal as data, not as signed bytes.
        return Signed(event, key, value.replace(b",", b", ", 1) if reformat else value, signed)

    before_rotation = record(old_intake)
    tampered = record(old_intake, reformat=True)
    wrong_producer = record(assignment)
    create_signing_key(Service.INTAKE, tmp_path, trusted)  # the rotation
    after_rotation = record(load_signing_key(tmp_path / "intake.key", Service.INTAKE))
    for sent in (before_rotation, tampered, wrong_producer, after_rotation):
        await publisher.send_raw(topics[0].name, sent.value, key=sent.key, headers=sent.headers)

    handled: list[object] = []

    async def handle(batch: list[Delivery]) -> None:
        handled.extend(delivery.event.event_id for delivery in batch)

    consumer = EventConsumer(
        kafka_bootstrap,
        *topics,
        group_id=topics[0].name,
        service="test",
        handle_batch=handle,
        dead_letters=publisher,
        verifier=Verifier.from_file(trusted),
    )
    await consume_until(consumer, check=lambda: len(handled) >= 2)
    assert handled == [before_rotation.event.event_id, after_rotation.event.event_id]

    dead = await asyncio.to_thread(raw_records, kafka_bootstrap, topics[1].name, 2)
    reasons = [dict(r.headers) for r in dead]  # type: ignore[attr-defined]
    assert [r[Headers.DLQ_ERROR_TYPE] for r in reasons] == [b"SignatureError", b"ProducerError"]
    assert reasons[0][Headers.DLQ_ERROR].startswith(
        b"the signature does not verify under key intake-"
    )
    assert reasons[1][Headers.DLQ_ERROR] == (
        b"CaseReported is produced by intake, but the record is signed by assignment"
    )
    assert [r.value for r in dead] == [tampered.value, wrong_producer.value]  # type: ignore[attr-defined]
