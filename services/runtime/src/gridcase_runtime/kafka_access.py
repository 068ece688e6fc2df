"""Who may do what on Kafka: one SCRAM user per service and the ACLs it gets, the one table
that the local runner, compose's init job and Strimzi's KafkaUsers (checked by a test) follow.

Every service writes the dead-letter topic and reads the case events with its own consumer
group only; the services that produce events (as contracts declares) also write the case
events; statistics owns its faust topics (changelogs and the leader topic, all named after
its app id, which is its consumer group). Nothing else is granted, to anyone: an
administrator (a super user of the broker) creates the topics."""

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from gridcase_contracts.codes import Service
from gridcase_contracts.events import EVENTS_BY_NAME
from gridcase_contracts.topics import ALL_TOPICS, CASE_EVENTS, CASE_EVENTS_DLQ, namespaced
from gridcase_runtime.kafka_admin import ensure_topics
from gridcase_runtime.kafka_security import KafkaSecurity

PRODUCERS = sorted({event.producer_service for event in EVENTS_BY_NAME.values()})
"""The services that write case events: every producer of an event type in contracts."""

CONSUMER_GROUPS: Mapping[Service, str] = {
    Service.INTAKE: "gridcase-intake",
    Service.ASSIGNMENT: "gridcase-assignment",
    Service.REMEDIATION_TRACKING: "gridcase-remediation",
    Service.STATISTICS: "gridcase-statistics",
}
"""Each service's consumer group (statistics': its faust app id), the only one it may use."""

PASSWORD_VARIABLES: Mapping[Service, str] = {
    Service.INTAKE: "INTAKE_KAFKA_PASSWORD",
    Service.ASSIGNMENT: "ASSIGNMENT_KAFKA_PASSWORD",
    Service.REMEDIATION_TRACKING: "REMEDIATION_KAFKA_PASSWORD",
    Service.STATISTICS: "STATISTICS_KAFKA_PASSWORD",
}
"""Where `gridcase kafka-access` reads each service's password (beside its own user name,
the service's name, the service itself reads it from KAFKA_SASL_PASSWORD)."""


@dataclass(frozen=True)
class Grant:
    """Operations allowed on Kafka resources: one name, or every name with a prefix."""

    resource: Literal["topic", "group"]
    name: str
    pattern: Literal["literal", "prefix"]
    operations: frozenset[str]
    """Kafka's operation names: Create, Describe, DescribeConfigs, Read, Write."""


def grants(service: Service, namespace: str = "") -> list[Grant]:
    """The ACLs of `service`'s user, on the topics and group of `namespace` (tests run
    several systems on one broker, each under a namespace of its own)."""
    events = {"Describe", "Read"} | ({"Write"} if service in PRODUCERS else set())
    group = namespaced(CONSUMER_GROUPS[service], namespace)
    granted = [
        Grant("topic", namespaced(CASE_EVENTS.name, namespace), "literal", frozenset(events)),
        Grant(
            "topic",
            namespaced(CASE_EVENTS_DLQ.name, namespace),
            "literal",
            frozenset({"Describe", "Write"}),
        ),
        Grant("group", group, "literal", frozenset({"Describe", "Read"})),
    ]
    if service is Service.STATISTICS:  # faust's changelog and leader topics
        operations = frozenset({"Create", "Describe", "DescribeConfigs", "Read", "Write"})
        granted.append(Grant("topic", f"{group}-", "prefix", operations))
    return granted


_PATTERNS = {"literal": ACLResourcePatternType.LITERAL, "prefix": ACLResourcePatternType.PREFIXED}


def acls(service: Service, namespace: str = "") -> list[ACL]:
    """`grants` as kafka-python ACL bindings of the user named after the service."""
    return [
        ACL(
            principal=f"User:{service.value}",
            host="*",
            operation=ACLOperation[re.sub(r"(?<!^)(?=[A-Z])", "_", operation).upper()],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(
                ResourceType[grant.resource.upper()], grant.name, _PATTERNS[grant.pattern]
            ),
        )
        for grant in grants(service, namespace)
        for operation in sorted(grant.operations)
    ]


class AccessError(RuntimeError):
    """The broker refused to store a user or an ACL."""


def provision(
    bootstrap_servers: str,
    *,
    namespace: str = "",
    passwords: Mapping[Service, str] | None = None,
    replication_factor: int = 1,
) -> None:
    """As the administrator (a super user; credentials from KAFKA_*): creates the topics of
    `namespace` with `replication_factor` replicas, sets the SCRAM-SHA-512 password of each
    service in `passwords`, and grants every service its ACLs there. Safe to repeat."""
    ensure_topics(
        bootstrap_servers,
        [spec.namespaced(namespace) for spec in ALL_TOPICS],
        replication_factor=replication_factor,
    )
    with _admin(bootstrap_servers) as admin:
        if passwords:
            answers = admin.alter_user_scram_credentials(
                [
                    UserScramCredentialUpsertion(
                        service.value, ScramMechanism.SCRAM_SHA_512, password
                    )
                    for service, password in passwords.items()
                ]
            )
            refused = {user: error for user, error in answers.items() if error}
            if refused:
                raise AccessError(f"SCRAM credentials refused: {refused}")
        created = admin.create_acls(
            [acl for service in Service for acl in acls(service, namespace)]
        )
        if created["failed"]:
            raise AccessError(f"ACLs refused: {created['failed']}")


def revoke(bootstrap_servers: str, namespace: str) -> None:
    """Deletes every ACL on `namespace`'s topics and groups (a finished test system's)."""
    resources = {
        (grant.resource, grant.name, grant.pattern)
        for service in Service
        for grant in grants(service, namespace)
    }
    with _admin(bootstrap_servers) as admin:
        admin.delete_acls(
            [
                ACLFilter(
                    principal=None,
                    host="*",
                    operation=ACLOperation.ANY,
                    permission_type=ACLPermissionType.ANY,
                    resource_pattern=ResourcePatternFilter(
                        ResourceType[resource.upper()], name, _PATTERNS[pattern]
                    ),
                )
                for resource, name, pattern in sorted(resources)
            ]
        )


@contextmanager
def _admin(bootstrap_servers: str) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(
        **KafkaSecurity().client_config(),
        bootstrap_servers=bootstrap_servers,
        client_id="gridcase-access",
    )
    try:
        yield admin
    finally:
        admin.close()


def passwords_from_environment() -> dict[Service, str]:
    """The services' passwords found in their PASSWORD_VARIABLES."""
    return {
        service: os.environ[variable]
        for service, variable in PASSWORD_VARIABLES.items()
        if os.environ.get(variable)
    }
