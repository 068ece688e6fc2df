"""Settings of the statistics service (env prefix STATISTICS_)."""

import tempfile
from pathlib import Path

from pydantic_settings import SettingsConfigDict

from gridcase_contracts.codes import Service
from gridcase_runtime.kafka_access import CONSUMER_GROUPS
from gridcase_runtime.settings import ServiceSettings

SERVICE = "statistics"


class StatsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="STATISTICS_", extra="ignore", populate_by_name=True
    )

    port: int = 8004
    consumer_group: str = CONSUMER_GROUPS[Service.STATISTICS]
    data_dir: Path = Path(tempfile.gettempdir()) / "gridcase-statistics"
    """Where faust keeps its (small) working files; the tables live in changelog topics."""
    session_timeout_s: float = 30.0
    """How soon the group notices a worker that died; its partitions move after this."""
    metrics_refresh_s: float = 5.0
    """How often the snapshot behind the business gauges is taken; they lag by at most this."""
