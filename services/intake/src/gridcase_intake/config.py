"""Intake's settings (env prefix INTAKE_, shared names as in ServiceSettings).

| Variable | Default | Meaning |
|---|---|---|
| INTAKE_PORT | 8001 | HTTP port |
| INTAKE_PUBLIC_BASE_URL | http://127.0.0.1:8001 | base of the photo URLs put into events |
| INTAKE_PUBLISH_TIMEOUT_S | 5 | longest wait for Kafka's acknowledgement before 503 |
| INTAKE_RETRY_AFTER_S | 5 | Retry-After sent with 503 |
| INTAKE_REPORTS_PER_MINUTE | 30 | new reports per volunteer and per Open311 api_key, each minute |
| INTAKE_OPEN311_READS_PER_MINUTE | 120 | Open311 reads per client address, each minute |
| INTAKE_IDEMPOTENCY_RETENTION_H | 24 | how long an Idempotency-Key is remembered (at least 24) |
| INTAKE_IDEMPOTENCY_LEASE_S | 30 | an in-flight key older than this belongs to a crashed attempt |
| INTAKE_SWEEP_INTERVAL_S | 600 | how often expired Idempotency-Keys are deleted |
| INTAKE_MAX_PHOTOS | 5 | photos per report |
| INTAKE_MAX_PHOTO_MB | 10 | size of one photo |
| INTAKE_OPEN311_JURISDICTION_ID | gridcase | the jurisdiction_id Open311 clients may send |
| INTAKE_FALLBACK_DISTRICT | unset | district of a point outside every district (unset: 422) |
"""

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from gridcase_contracts.codes import District, Service
from gridcase_runtime.kafka_access import CONSUMER_GROUPS
from gridcase_runtime.settings import ServiceSettings

SERVICE = "intake"
JSON_BODY_LIMIT = 1024 * 1024
PHOTOS_LIMIT = 5
"""The most photos a report may carry, whatever INTAKE_MAX_PHOTOS says."""
FORM_FIELDS_ALLOWANCE = 1024 * 1024
"""Multipart bodies may carry this much besides the photos (the report field, boundaries)."""


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", populate_by_name=True)

    port: int = 8001
    mongodb_database: str = "gridcase_intake"
    consumer_group: str = CONSUMER_GROUPS[Service.INTAKE]
    public_base_url: str = "http://127.0.0.1:8001"
    publish_timeout_s: float = Field(default=5.0, gt=0, le=60)
    retry_after_s: int = Field(default=5, ge=1)
    local_write_wait_s: float = Field(
        default=1.0,
        gt=0,
        description="How long an accepted report's answer waits for its view to be written.",
    )
    reports_per_minute: int = Field(default=30, ge=1)
    max_reports_in_work: int = Field(
        default=100,
        ge=1,
        description="Reports one process works on at once; more are answered 503 with "
        "Retry-After at once.",
    )
    open311_reads_per_minute: int = Field(default=120, ge=1)
    idempotency_retention_h: float = Field(default=24.0, ge=24)
    idempotency_lease_s: float = Field(default=30.0, gt=0)
    sweep_interval_s: float = Field(default=600.0, gt=0)
    max_photos: int = Field(default=PHOTOS_LIMIT, ge=0, le=PHOTOS_LIMIT)
    max_photo_mb: int = Field(default=10, ge=1, le=10)
    open311_jurisdiction_id: str = "gridcase"
    fallback_district: District | None = Field(
        default=None,
        description="The district whose government owns a point outside every district; "
        "unset, such a report is refused (422).",
    )

    @model_validator(mode="after")
    def _lease_outlives_a_publish(self) -> Self:
        if self.idempotency_lease_s <= self.publish_timeout_s + 2:
            raise ValueError("INTAKE_IDEMPOTENCY_LEASE_S must exceed INTAKE_PUBLISH_TIMEOUT_S + 2")
        return self

    @property
    def max_photo_bytes(self) -> int:
        return self.max_photo_mb * 1024 * 1024

    @property
    def multipart_body_limit(self) -> int:
        return self.max_photos * self.max_photo_bytes + FORM_FIELDS_ALLOWANCE
