"""Settings shared by every service; each service subclasses with its own env prefix."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridcase_contracts.topics import CASE_EVENTS, CASE_EVENTS_DLQ, TopicSpec
from gridcase_runtime.boundaries import DEMO_BOUNDARIES

LOCAL_JWT_SECRET = "gridcase-local-development-secret-not-for-production"


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
    jwt_secret: SecretStr = Field(
        default=SecretStr(LOCAL_JWT_SECRET), validation_alias="GRIDCASE_JWT_SECRET"
    )
    jwt_issuer: str = Field(default="gridcase", validation_alias="GRIDCASE_JWT_ISSUER")
    jwt_audience: str = Field(default="gridcase", validation_alias="GRIDCASE_JWT_AUDIENCE")
    jwks_url: str | None = Field(
        default=None,
        validation_alias="GRIDCASE_JWKS_URL",
        description="Production: verify RS256/ES256 tokens against this JWKS instead of HS256.",
    )
    log_level: str = Field(default="INFO", validation_alias="GRIDCASE_LOG_LEVEL")
    boundaries_file: Path = Field(
        default=DEMO_BOUNDARIES,
        validation_alias="GRIDCASE_BOUNDARIES_FILE",
        description="GeoJSON of the city's districts and communities (the demo city's by default).",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    mongodb_database: str = "gridcase"
    consumer_group: str = "gridcase"

    @model_validator(mode="after")
    def _no_default_secret_outside_local(self) -> Self:
        if (
            self.environment == "production"
            and self.jwks_url is None
            and self.jwt_secret.get_secret_value() == LOCAL_JWT_SECRET
        ):
            raise ValueError(
                "GRIDCASE_JWT_SECRET must be set (or GRIDCASE_JWKS_URL) "
                "when GRIDCASE_ENV=production"
            )
        if self.environment == "production" and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("GRIDCASE_JWT_SECRET must be at least 32 characters in production")
        return self

    def topic(self, spec: TopicSpec) -> TopicSpec:
        return spec.namespaced(self.topic_namespace)

    @property
    def case_events_topic(self) -> TopicSpec:
        return self.topic(CASE_EVENTS)

    @property
    def dlq_topic(self) -> TopicSpec:
        return self.topic(CASE_EVENTS_DLQ)
