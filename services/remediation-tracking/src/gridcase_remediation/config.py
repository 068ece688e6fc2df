"""Settings of remediation-tracking (env prefix REMEDIATION_, shared names unprefixed)."""

from pydantic_settings import SettingsConfigDict

from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_access import CONSUMER_GROUPS
from gridcase_runtime.photos import MAX_PHOTO_BYTES
from gridcase_runtime.settings import ServiceSettings

SERVICE = "remediation-tracking"
MAX_PHOTOS = 5


class RemediationSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="REMEDIATION_", extra="ignore", populate_by_name=True
    )

    port: int = 8003
    mongodb_database: str = "gridcase_remediation"
    consumer_group: str = CONSUMER_GROUPS[Service.REMEDIATION_TRACKING]
    public_base_url: str = "http://127.0.0.1:8003"
    """Base of the evidence photo URLs put into events."""
    sla_scan_interval_s: float = 30.0
    """How often the SLA timer looks for stages past their due date."""
    outbox_poll_interval_s: float = 1.0
    ledger_check_interval_s: float = 3600.0
    """How often every case's ledger hash chain is recomputed (a break raises an alert)."""
    json_body_limit: int = 64 * 1024
    multipart_body_limit: int = MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024
