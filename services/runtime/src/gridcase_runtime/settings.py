"""Settings shared by every service; each service subclasses with its own env prefix."""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridcase_contracts.codes import Service
from gridcase_contracts.topics import CASE_EVENTS, CASE_EVENTS_DLQ, TopicSpec, namespaced
from gridcase_runtime.boundaries import DEMO_BOUNDARIES
from gridcase_runtime.signing import KeyFileError, SigningKey, Verifier, load_signing_key


class ServiceSettings(BaseSettings):
    """Connection, identity and HTTP settings. Read from the environment at construction,
    never at import; shared names (KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL, GRIDCASE_*) are read
    without the service prefix so one environment serves every service."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Literal["local", "test", "production"] = Field(
        default="local", validation_alias="GRIDCASE_ENV"
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    mongodb_url: str = Field(default="mongodb://127.0.0.1:27017", validation_alias="MONGODB_URL")
    kafka_replication_factor: int = Field(
        default=1,
        ge=1,
        validation_alias="GRIDCASE_KAFKA_REPLICATION_FACTOR",
        description="Replicas of topics the services create themselves (faust changelogs).",
    )
    topic_namespace: str = Field(
        default="",
        validation_alias="GRIDCASE_TOPIC_NAMESPACE",
        description="Prefix of every topic name; isolates test runs sharing one broker.",
    )
    jwt_issuer: str = Field(
        default_factory=lambda: (
            f"http://127.0.0.1:{os.environ.get('KEYCLOAK_PORT', '8080')}/realms/gridcase"
        ),
        validation_alias="GRIDCASE_JWT_ISSUER",
        description="The OpenID Connect provider's issuer (Keycloak's realm URL); the only "
        "issuer whose tokens are accepted. Default: the local Keycloak on KEYCLOAK_PORT.",
    )
    jwt_audience: str = Field(default="gridcase", validation_alias="GRIDCASE_JWT_AUDIENCE")
    jwks_url: str | None = Field(
        default=None,
        validation_alias="GRIDCASE_JWKS_URL",
        description="Where the provider's signing keys are fetched (default: Keycloak's "
        "certs endpoint under the issuer).",
    )
    jwt_leeway_s: int = Field(
        default=30,
        ge=0,
        le=60,
        validation_alias="GRIDCASE_JWT_LEEWAY_S",
        description="Clock skew allowed on exp, nbf and iat.",
    )
    jwt_max_lifetime_s: int = Field(
        default=3600,
        ge=60,
        validation_alias="GRIDCASE_JWT_MAX_LIFETIME_S",
        description="A token whose exp - iat is longer is refused.",
    )
    log_level: str = Field(default="INFO", validation_alias="GRIDCASE_LOG_LEVEL")
    boundaries_file: Path = Field(
        default=DEMO_BOUNDARIES,
        validation_alias="GRIDCASE_BOUNDARIES_FILE",
        description="GeoJSON of the city's districts and communities (the demo city's by default).",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="This service's private key that signs its events (<PREFIX>SIGNING_KEY_FILE).",
    )
    trusted_keys_file: Path | None = Field(
        default=None,
        validation_alias="GRIDCASE_TRUSTED_KEYS_FILE",
        description="The public keys of every service, which consumed events must verify under.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    mongodb_database: str = "gridcase"
    consumer_group: str = "gridcase"

    @property
    def jwks_endpoint(self) -> str:
        return self.jwks_url or f"{self.jwt_issuer}/protocol/openid-connect/certs"

    @property
    def token_endpoint(self) -> str:
        """Where `gridcase token` and the tests ask the provider for tokens."""
        return f"{self.jwt_issuer}/protocol/openid-connect/token"

    def signing_key(self, service: Service) -> SigningKey:
        """The key `service` signs its events with; raises KeyFileError if not configured."""
        if self.signing_key_file is None:
            prefix = self.model_config.get("env_prefix", "")
            raise KeyFileError(
                f"{prefix}SIGNING_KEY_FILE is not set: {service.value} needs its private "
                "signing key (`gridcase keys create`)"
            )
        return load_signing_key(self.signing_key_file, service)

    def verifier(self) -> Verifier:
        """The trusted public keys; raises KeyFileError if not configured."""
        if self.trusted_keys_file is None:
            raise KeyFileError(
                "GRIDCASE_TRUSTED_KEYS_FILE is not set: consumers need every service's "
                "public keys (`gridcase keys create`)"
            )
        return Verifier.from_file(self.trusted_keys_file)

    @property
    def group_id(self) -> str:
        """The consumer group, under the topic namespace like the topics."""
        return namespaced(self.consumer_group, self.topic_namespace)

    def topic(self, spec: TopicSpec) -> TopicSpec:
        return spec.namespaced(self.topic_namespace)

    @property
    def case_events_topic(self) -> TopicSpec:
        return self.topic(CASE_EVENTS)

    @property
    def dlq_topic(self) -> TopicSpec:
        return self.topic(CASE_EVENTS_DLQ)
