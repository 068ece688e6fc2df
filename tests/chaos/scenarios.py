"""One chaos scenario: the workload on the four services, a fault under load, load again,
then every report retried to acceptance, every case worked, the consumers caught up and
the checker's verdict, printed as the scenario's row."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import httpx
from chaos.checker import (
    Verdict,
    applied_by_services,
    caught_up,
    connect_all,
    end_offsets,
    judge,
    replay_differences,
    statistics_differences,
    topic_events,
)
from chaos.system import DATABASES, System
from chaos.workload import Crew, Ledger, open311_clients, tokens, volunteers

from gridcase_contracts.topics import namespaced
from gridcase_runtime.auth import Role
from gridcase_runtime.kafka_access import CONSUMER_GROUPS
from gridcase_stats.config import StatsSettings
from identity import mint_token

HEADER = "| Scenario | Operations | Acknowledged | Lost | Duplicated | Unexpected | Recovery |"


def settings_of(system: System) -> StatsSettings:
    """Settings that name the scenario's topics (and trust the services' keys)."""
    return StatsSettings(
        environment="test",
        kafka_bootstrap_servers=system.bootstrap,
        topic_namespace=system.namespace,
    )


async def start(system: System) -> None:
    """Intake first (it creates the topics), then the other three at once."""
    await asyncio.to_thread(system.start, "intake")
    await asyncio.gather(
        *(
            asyncio.to_thread(system.start, service)
            for service in ("assignment", "remediation-tracking", "statistics")
        )
    )


async def run_scenario(
    name: str,
    system: System,
    fault: Callable[[], Awaitable[None]],
    *,
    load_before_s: float = 5,
    load_after_s: float = 10,
    volunteer_count: int = 3,
    open311_count: int = 1,
) -> Ledger:
    """Load, the fault under load, load again; then the check. Asserts the verdict is
    clean, the replays agree, and no answer was a 5xx other than 503; returns what the
    clients were told."""
    settings = settings_of(system)
    admin = {"Authorization": f"Bearer {mint_token(settings, subject='a-chaos', role=Role.ADMIN)}"}
    ledger = Ledger()
    stop = asyncio.Event()
    topic = settings.case_events_topic
    groups = [namespaced(group, system.namespace) for group in CONSUMER_GROUPS.values()]
    async with (
        httpx.AsyncClient(base_url=system.url("intake"), timeout=10) as intake,
        httpx.AsyncClient(base_url=system.url("remediation-tracking"), timeout=10) as cases,
    ):
        issued = await intake.post("/v1/admin/api-keys", json={"name": "chaos"}, headers=admin)
        assert issued.status_code == 201, issued.text
        load = asyncio.gather(
            volunteers(intake, tokens(settings, volunteer_count), ledger, stop),
            open311_clients(intake, issued.json()["api_key"], open311_count, ledger, stop),
        )
        crew = asyncio.create_task(Crew(cases, settings, ledger).run(stop))
        await asyncio.sleep(load_before_s)
        await fault()
        target = await asyncio.to_thread(
            end_offsets, system.bootstrap, topic.name, topic.partitions
        )
        recovery = asyncio.create_task(caught_up(system.bootstrap, groups, topic.name, target))
        await asyncio.sleep(load_after_s)
        stop.set()
        await load
        stopped = time.monotonic()
        await crew
        recovered_s = await recovery
        worked = time.monotonic()
    verdict = await check(system, settings, ledger, admin)
    print(
        f"\n  cases worked {worked - stopped:.0f} s after the load, "
        f"checked in {time.monotonic() - worked:.0f} s"
    )
    print(f"\n{HEADER}\n{verdict.row(name, recovered_s)}\n answers: {dict(ledger.answers)}")
    for line in verdict.findings + verdict.differences[:10]:
        print(f"  {line}")
    if system.revived:
        print(f"  ended on their own and started again: {', '.join(system.revived)}")
    assert not ledger.server_errors(), f"5xx other than 503: {ledger.server_errors()}"
    assert (verdict.lost, verdict.duplicated, verdict.unexpected) == (0, 0, 0)
    assert verdict.differences == []
    return ledger


async def check(
    system: System, settings: StatsSettings, ledger: Ledger, admin: dict[str, str]
) -> Verdict:
    """The checker's verdict once clean (the consumers caught up), or after three minutes."""
    names = {service: system.database(service) for service in DATABASES}
    databases = connect_all(system.mongo_url, names)
    fresh = connect_all(system.mongo_url, {s: f"{n}_replay" for s, n in names.items()})
    try:
        deadline = time.monotonic() + 180
        while True:
            events, _invalid = await asyncio.to_thread(
                topic_events, system.bootstrap, settings.case_events_topic, settings
            )
            verdict = judge(ledger, events, await applied_by_services(databases))
            if verdict.clean or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        differences = await replay_differences(events, databases, fresh)
        token = admin["Authorization"].removeprefix("Bearer ")
        differences += await asyncio.to_thread(
            statistics_differences, settings, system.url("statistics"), token
        )
        return replace(verdict, differences=differences)
    finally:
        for database in fresh.values():
            await database.client.drop_database(database.name)
        for database in [*databases.values(), *fresh.values()]:
            database.client.close()
