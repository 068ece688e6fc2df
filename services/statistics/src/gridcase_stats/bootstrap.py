"""Builds the statistics service's components: the live case source over Kafka, or the
one a test passes in."""

from dataclasses import dataclass

from gridcase_runtime.health import ReadinessCheck, kafka_reachable
from gridcase_runtime.workers import Periodic, Worker
from gridcase_stats.adapters.business_metrics import BUSINESS_METRICS
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.consumer import LiveCaseSource
from gridcase_stats.ports import CaseSource


@dataclass(frozen=True)
class Components:
    """What the API and the workers use, built once per process."""

    settings: StatsSettings
    source: CaseSource
    live: bool
    """True when `source` is the stream over Kafka (whose broker readiness then checks)."""

    async def prepare(self) -> None:
        await self.source.start()

    def workers(self) -> list[Worker]:
        async def refresh_business_metrics() -> None:
            BUSINESS_METRICS.refresh(self.source)

        snapshot = Periodic(
            "business-metrics-snapshot", refresh_business_metrics, self.settings.metrics_refresh_s
        )
        return [snapshot.worker]

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        async def tables_recovered() -> None:
            if not self.source.recovered:
                raise RuntimeError("tables are recovering")

        checks: dict[str, ReadinessCheck] = {"tables": tables_recovered}
        if self.live:
            checks["kafka"] = kafka_reachable(self.settings.kafka_bootstrap_servers)
        return checks

    async def close(self) -> None:
        BUSINESS_METRICS.refresh(None)
        await self.source.stop()


def bootstrap(settings: StatsSettings, source: CaseSource | None = None) -> Components:
    """The service on `source`, by default the live one."""
    return Components(settings, source or LiveCaseSource(settings), live=source is None)
