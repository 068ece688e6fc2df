"""The broker's users and ACLs, on the real broker: each service writes only the topics it
may write and reads only with its own consumer group; a client without credentials, or
with a wrong password, gets nothing at all."""

from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import (
    GroupAuthorizationFailedError,
    KafkaTimeoutError,
    TopicAuthorizationFailedError,
)

from gridcase_contracts.codes import Service
from gridcase_contracts.topics import CASE_EVENTS, CASE_EVENTS_DLQ, namespaced
from gridcase_runtime.kafka_access import CONSUMER_GROUPS, provision, revoke
from kafka_login import client_settings, kafka_environment

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def granted(kafka_bootstrap: str, namespace: str) -> Iterator[str]:
    """The namespace's topics and every service's user and ACLs there, as the local runner
    grants them before it starts the services; the ACLs are revoked afterwards."""
    passwords = {
        service: kafka_environment(service.value)["KAFKA_SASL_PASSWORD"] for service in Service
    }
    provision(kafka_bootstrap, namespace=namespace, passwords=passwords)
    yield namespace
    revoke(kafka_bootstrap, namespace)


def producer(bootstrap: str, user: str, **settings: Any) -> KafkaProducer:
    return KafkaProducer(**client_settings(bootstrap, user, max_block_ms=5000, **settings))


def send(client: KafkaProducer, topic: str) -> None:
    try:
        client.send(topic, key=b"case", value=b"{}").get(timeout=10)
    finally:
        client.close(timeout=2)


def test_a_service_writes_only_what_it_produces(kafka_bootstrap: str, granted: str) -> None:
    events = CASE_EVENTS.namespaced(granted).name
    send(producer(kafka_bootstrap, "intake"), events)
    send(producer(kafka_bootstrap, "statistics"), CASE_EVENTS_DLQ.namespaced(granted).name)
    with pytest.raises(TopicAuthorizationFailedError):
        send(producer(kafka_bootstrap, "statistics"), events)  # it produces no event type


def test_a_service_cannot_write_another_services_topics(kafka_bootstrap: str, granted: str) -> None:
    changelog = f"{namespaced(CONSUMER_GROUPS[Service.STATISTICS], granted)}-case-stats-changelog"
    admin = KafkaAdminClient(**client_settings(kafka_bootstrap))
    try:
        admin.create_topics([NewTopic(changelog, 1, 1)])
    finally:
        admin.close()
    send(producer(kafka_bootstrap, "statistics"), changelog)
    with pytest.raises(TopicAuthorizationFailedError):
        send(producer(kafka_bootstrap, "intake"), changelog)


def reader(bootstrap: str, user: str, group: str) -> KafkaConsumer:
    return KafkaConsumer(
        **client_settings(
            bootstrap, user, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
        )
    )


def test_a_service_reads_with_its_own_group_only(kafka_bootstrap: str, granted: str) -> None:
    events = CASE_EVENTS.namespaced(granted).name
    send(producer(kafka_bootstrap, "assignment"), events)
    own = reader(
        kafka_bootstrap, "assignment", namespaced(CONSUMER_GROUPS[Service.ASSIGNMENT], granted)
    )
    try:
        own.subscribe([events])
        records: list[Any] = []
        for _ in range(100):
            records += [r for batch in own.poll(timeout_ms=200).values() for r in batch]
            if records:
                break
        assert records
        own.commit()
    finally:
        own.close()
    foreign = reader(
        kafka_bootstrap, "assignment", namespaced(CONSUMER_GROUPS[Service.INTAKE], granted)
    )
    try:
        foreign.subscribe([events])
        with pytest.raises(GroupAuthorizationFailedError):
            foreign.poll(timeout_ms=5000)
    finally:
        foreign.close()


def test_a_client_without_credentials_can_neither_write_nor_read(
    kafka_bootstrap: str, granted: str
) -> None:
    events = CASE_EVENTS.namespaced(granted).name
    anonymous = {"security_protocol": "PLAINTEXT", "bootstrap_timeout_ms": 4000}
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        KafkaProducer(bootstrap_servers=kafka_bootstrap, **anonymous)
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        KafkaConsumer(events, bootstrap_servers=kafka_bootstrap, **anonymous)
    assert events in visible_topics(client_settings(kafka_bootstrap, "intake"))


def test_a_wrong_password_is_refused(kafka_bootstrap: str, granted: str) -> None:
    settings = client_settings(kafka_bootstrap, "intake", bootstrap_timeout_ms=4000)
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        KafkaProducer(**settings | {"sasl_plain_password": "not-intake-s-password"})
    assert CASE_EVENTS.namespaced(granted).name in visible_topics(settings)


def visible_topics(settings: dict[str, Any]) -> set[str]:
    """The topics a client with these settings may see (its ACLs' topics)."""
    consumer = KafkaConsumer(**settings)
    try:
        return set(consumer.topics())
    finally:
        consumer.close()
