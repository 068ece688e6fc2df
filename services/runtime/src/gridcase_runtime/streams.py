"""Settings for faust-streaming apps, consistent with the Kafka delivery rules."""

import tempfile
from pathlib import Path
from typing import Any

from gridcase_contracts.topics import CASE_EVENTS
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.settings import ServiceSettings


def faust_app_settings(
    settings: ServiceSettings,
    *,
    app_id: str,
    datadir: Path | None = None,
    web_port: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `faust.App`: Kafka broker, changelog-backed in-memory tables
    with the case-events topic's partition count, and exactly the acks/idempotence
    producer settings the other services use. faust's working files go to `datadir`, by
    default a folder of the temporary directory (created here)."""
    datadir = datadir or Path(tempfile.gettempdir()) / "gridcase-faust" / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    return {
        "id": app_id,
        "datadir": str(datadir),
        "broker": [
            f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")
        ],
        "broker_credentials": KafkaSecurity().faust_credentials(),
        "store": "memory://",
        "topic_partitions": CASE_EVENTS.partitions,
        "topic_replication_factor": settings.kafka_replication_factor,
        "topic_allow_declare": True,
        "producer_acks": -1,
        "consumer_auto_offset_reset": "earliest",
        "broker_commit_every": 100,
        "broker_commit_interval": 1.0,
        "table_standby_replicas": 0,
        "web_enabled": web_port is not None,
        "web_port": web_port or 6066,
        "web_bind": settings.host,
    }
