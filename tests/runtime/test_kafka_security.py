"""Kafka client authentication settings, from the environment to every client's options."""

import pytest
from pydantic import ValidationError

from gridcase_runtime.kafka_security import KafkaSecurity


@pytest.fixture(autouse=True)
def no_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the administrator's login that the tests' conftest sets."""
    for name in ("SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD"):
        monkeypatch.delenv(f"KAFKA_{name}", raising=False)


def test_plaintext_by_default() -> None:
    security = KafkaSecurity()
    assert security.client_config() == {"security_protocol": "PLAINTEXT"}
    assert security.faust_credentials() is None


def test_tls_with_scram_reaches_kafka_python_and_faust(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "intake")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", "/etc/gridcase/kafka-ca/ca.crt")
    assert KafkaSecurity().client_config() == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "intake",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": "/etc/gridcase/kafka-ca/ca.crt",
    }
    monkeypatch.delenv("KAFKA_SSL_CAFILE")  # the system's CAs: no file to read here
    credentials = KafkaSecurity().faust_credentials()
    assert credentials is not None
    assert (credentials.protocol.value, credentials.mechanism.value) == (  # type: ignore[attr-defined]
        "SASL_SSL",
        "SCRAM-SHA-512",
    )
    assert credentials.username == "intake"  # type: ignore[attr-defined]


def test_sasl_without_credentials_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValidationError, match="needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaSecurity()
