"""Builds the real case source, or lets tests pass a fake one."""

from gridcase_runtime.kafka_admin import ensure_case_topics
from gridcase_stats.adapters.source import CaseSource
from gridcase_stats.adapters.stream import CaseStream
from gridcase_stats.config import StatsSettings


async def live_case_source(settings: StatsSettings) -> CaseSource:
    """The faust stream over the case events, after making sure its topics exist."""
    await ensure_case_topics(settings)
    return CaseStream(settings)
