"""The one table of Kafka users and ACLs: what each service may do, under a namespace too."""

from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_access import CONSUMER_GROUPS, PRODUCERS, Grant, acls, grants
from gridcase_stats.config import StatsSettings


def test_only_the_producers_of_event_types_write_the_case_events() -> None:
    writers = {
        service
        for service in Service
        if any(
            g.name == "gridcase.case-events" and "Write" in g.operations for g in grants(service)
        )
    }
    assert (
        writers
        == set(PRODUCERS)
        == {
            Service.INTAKE,
            Service.ASSIGNMENT,
            Service.REMEDIATION_TRACKING,
        }
    )


def test_under_a_namespace_every_grant_names_the_namespaced_resources() -> None:
    for service in Service:
        plain, spaced = grants(service), grants(service, "t-run-1")
        assert [g.name for g in spaced] == [f"t-run-1.{g.name}" for g in plain]
        assert [g.operations for g in spaced] == [g.operations for g in plain]
    assert Grant(
        "group", "t-run-1.gridcase-intake", "literal", frozenset({"Describe", "Read"})
    ) in (grants(Service.INTAKE, "t-run-1"))


def test_statistics_owns_the_topics_named_after_its_group_its_faust_app_id() -> None:
    settings = StatsSettings(GRIDCASE_TOPIC_NAMESPACE="t-run-2")
    assert settings.group_id == f"t-run-2.{CONSUMER_GROUPS[Service.STATISTICS]}"
    (prefixed,) = [g for g in grants(Service.STATISTICS, "t-run-2") if g.pattern == "prefix"]
    assert prefixed.name == f"{settings.group_id}-"
    assert not [
        g
        for s in Service
        if s is not Service.STATISTICS
        for g in grants(s)
        if g.pattern == "prefix"
    ]


def test_acl_bindings_spell_the_operations_as_kafka_does() -> None:
    operations = {acl.operation.name for acl in acls(Service.STATISTICS)}
    assert operations == {"CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ", "WRITE"}
    assert {acl.principal for acl in acls(Service.INTAKE)} == {"User:intake"}
