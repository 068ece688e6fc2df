"""How a service logs in to Kafka, from the environment: as its own SCRAM user, over TLS
in compose and Kubernetes (SASL_SSL; Strimzi's TLS listener there, one KafkaUser per
service) and over the loopback locally (SASL_PLAINTEXT, set by the local runner). Without
settings a client speaks plaintext, which the project's brokers refuse. Every Kafka client
of the services (producer, consumer, admin, the faust app, the statistics replay) takes
these settings."""

import ssl
from pathlib import Path
from typing import Any, Literal, Self

from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSecurity(BaseSettings):
    """KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
    KAFKA_SASL_PASSWORD and KAFKA_SSL_CAFILE (the CA that signed the brokers' certificates)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    def client_config(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's producer, consumer and admin client."""
        config: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.sasl:
            config |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value()
                if self.sasl_password
                else None,
            }
        if self.tls and self.ssl_cafile is not None:
            config["ssl_cafile"] = str(self.ssl_cafile)
        return config

    def faust_credentials(self) -> CredentialsT | None:
        """faust's `broker_credentials` (None: plaintext)."""
        context = (
            ssl.create_default_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
            if self.tls
            else None
        )
        if not self.sasl:
            return None if context is None else SSLCredentials(context)
        return SASLCredentials(
            username=self.sasl_username,
            password=self.sasl_password.get_secret_value() if self.sasl_password else None,
            ssl_context=context,
            mechanism=self.sasl_mechanism,
        )
