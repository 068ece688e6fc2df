"""Builds the real case source, or lets tests pass a fake one."""

import asyncio

from gridcase_runtime.kafka import ensure_topics
from gridcase_stats.adapters.source import CaseSource
from gridcase_stats.adapters.stream import CaseStream
from gridcase_stats.config import StatsSettings


async def live_case_source(settings: StatsSettings) -> CaseSource:
    """The faust stream over the case events, after making sure its topics exist."""
    await asyncio.to_thread(
        ensure_topics,
        settings.kafka_bootstrap_servers,
        [settings.case_events_topic, settings.dlq_topic],
    )
    return CaseStream(settings)
