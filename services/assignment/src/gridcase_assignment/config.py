"""Assignment settings (env prefix ASSIGNMENT_), and the policies built from them."""

from datetime import date, timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_access import CONSUMER_GROUPS
from gridcase_runtime.settings import ServiceSettings

SERVICE = "assignment"
SEED_DIR = Path(__file__).parent / "seed"


class AssignmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSIGNMENT_", extra="ignore", populate_by_name=True
    )

    port: int = 8002
    mongodb_database: str = "gridcase_assignment"
    consumer_group: str = CONSUMER_GROUPS[Service.ASSIGNMENT]

    catalogue_file: Path = SEED_DIR / "catalogue.yaml"
    registry_file: Path = SEED_DIR / "registry.yaml"
    sla_file: Path = Field(
        default=SEED_DIR / "sla.yaml", description="SLA hours per category and severity."
    )
    calendar_file: Path = Field(
        default=SEED_DIR / "calendar.yaml",
        description="Working hours, public holidays and make-up working days.",
    )
    working_hours: str | None = Field(
        default=None, description="Overrides the calendar file's hours: '09:00-12:00,13:30-17:30'."
    )
    extra_holidays: list[date] = Field(default_factory=list)
    extra_makeup_days: list[date] = Field(default_factory=list)
    sla_scale: float = Field(
        default=1.0, gt=0, description="Multiplies every SLA duration (shorter SLAs for tests)."
    )
    sla_working_calendar: bool = Field(
        default=True,
        description="False: every severity counts calendar hours (demos, end-to-end tests).",
    )

    duplicate_radius_m: float = Field(default=50.0, gt=0)
    duplicate_window_days: float = Field(default=30.0, gt=0)
    priority_thresholds: list[int] = Field(default_factory=lambda: [3, 5, 10])
    max_returns: int = Field(default=3, ge=1, description="Returns before the supervisor queue.")
    routing_tables_max_age_s: float = Field(
        default=5.0,
        ge=0,
        description="How long routing reuses the catalogue and duty roster it read; admin "
        "changes through this process apply at once.",
    )

    ladder_level2_delay_s: float = Field(default=4 * 3600, ge=0)
    ladder_level3_delay_s: float = Field(default=24 * 3600, ge=0)
    ladder_scan_interval_s: float = Field(default=5.0, gt=0)
    workload_recount_interval_s: float = Field(
        default=600.0, gt=0, description="How often the handlers' workload is recounted."
    )

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(days=self.duplicate_window_days)
