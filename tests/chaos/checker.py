"""The chaos suite's checker. It reads, each on its own, the topic, every service's
database (intake's read model, assignment's cases, remediation-tracking's ledgers) and the
statistics figures, and counts against what the clients were told (workload.Ledger):

- lost: acknowledged to a client (a report's 201, an action's 200) but missing from the
  topic, or an event on the topic that a service that follows it has not applied;
- duplicated: one key under two cases, one step of a case made twice (two events of one
  type), or an event applied twice by a service;
- unexpected: on the topic or in a database but never sent by a client (an action sent
  whose answer was lost is explained by that retry).

It also replays the topic into empty databases with the services' own code and lists
every difference from the live state (`Verdict.differences`): intake's views and
remediation-tracking's ledgers and projections compared document by document, statistics'
figures by its reconciliation, and assignment (which decides rather than projects: a
replay would decide again) by each case's department and handler against the last
decision on the topic, with nothing left in its outbox.
"""

import asyncio
import io
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chaos.workload import Ledger, key_of
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from gridcase_assignment.handlers.events import EVENT_HANDLERS
from gridcase_contracts.codes import Service
from gridcase_contracts.events import CaseEvent, CaseReported
from gridcase_intake.adapters.repository import MongoCaseViews
from gridcase_remediation.adapters.repository import CaseRepository
from gridcase_remediation.handlers import record_events
from gridcase_runtime.kafka_security import KafkaSecurity
from gridcase_runtime.mongo import MongoDatabase, connect
from gridcase_stats.adapters.replay import TopicReplay
from gridcase_stats.config import StatsSettings
from gridcase_stats.entrypoints.reconcile import reconcile

Applied = dict[str, list[str]]
"""case_id → the ids of the events a service applied to it, in its order."""


@dataclass(frozen=True)
class Verdict:
    operations: int
    acknowledged: int
    lost: int
    duplicated: int
    unexpected: int
    findings: list[str] = field(default_factory=list)
    """What was counted, one line each (the first few)."""
    differences: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (self.lost, self.duplicated, self.unexpected) == (0, 0, 0)

    def row(self, scenario: str, recovered_s: float) -> str:
        return (
            f"| {scenario} | {self.operations:,} | {self.acknowledged:,} | {self.lost} | "
            f"{self.duplicated} | {self.unexpected} | {recovered_s:.1f} s |"
        )


def judge(ledger: Ledger, events: list[CaseEvent], applied: dict[str, Applied]) -> Verdict:
    """Counts lost, duplicated and unexpected (see the module's docstring). `applied`:
    for each service, what it applied; a service follows every event of a case but those
    `follows` leaves out."""
    findings: list[str] = []
    lost = duplicated = unexpected = 0
    cases_of_key: dict[str, set[str]] = {}
    kinds: dict[tuple[str, str], set[str]] = {}
    of_case: dict[str, list[CaseEvent]] = {}
    for event in events:
        if isinstance(event, CaseReported):
            cases_of_key.setdefault(key_of(event.payload.description), set()).add(event.case_id)
        kinds.setdefault((event.case_id, event.event_type), set()).add(str(event.event_id))
        of_case.setdefault(event.case_id, [])
        if str(event.event_id) not in {str(e.event_id) for e in of_case[event.case_id]}:
            of_case[event.case_id].append(event)

    def count(what: str, found: list[str]) -> int:
        findings.extend(f"{what}: {item}" for item in found[:5])
        return len(found)

    lost += count(
        "acknowledged report not on the topic",
        [c for c in ledger.acknowledged.values() if c not in of_case],
    )
    lost += count(
        "acknowledged action not on the topic",
        [f"{c} {k}" for (c, k), done in ledger.actions.items() if done and (c, k) not in kinds],
    )
    duplicated += count(
        "a key under several cases", [k for k, cases in cases_of_key.items() if len(cases) > 1]
    )
    duplicated += count(
        "a step made twice", [f"{c} {k}" for (c, k), ids in kinds.items() if len(ids) > 1]
    )
    unexpected += count(
        "a report never sent", [k for k in cases_of_key if k not in ledger.acknowledged]
    )
    sent = set(ledger.actions)
    unexpected += count(
        "an action never sent",
        [f"{c} {k}" for (c, k) in kinds if k in ACTIONS and (c, k) not in sent],
    )
    for service, cases in applied.items():
        for case_id, case_events in of_case.items():
            expected = {str(e.event_id) for e in case_events if follows(service, e)}
            ids = cases.get(case_id, [])
            lost += count(
                f"not applied by {service}", [f"{case_id} {i}" for i in expected - set(ids)]
            )
            duplicated += count(
                f"applied twice by {service}",
                [f"{case_id} {i}" for i, n in Counter(ids).items() if n > 1],
            )
            unexpected += count(
                f"applied by {service} but not on the topic",
                [f"{case_id} {i}" for i in set(ids) - {str(e.event_id) for e in case_events}],
            )
        unexpected += count(
            f"a case of {service} not on the topic", [c for c in cases if c not in of_case]
        )
    return Verdict(
        ledger.operations, len(ledger.acknowledged), lost, duplicated, unexpected, findings
    )


ACTIONS = frozenset(
    {"CaseAccepted", "RectificationOrdered", "ProgressRecorded", "CaseResolved", "CaseVerified"}
)


def follows(service: str, event: CaseEvent) -> bool:
    """Whether `service` applies `event` to its state (assignment follows only what it
    handles, and not its own decisions, which it stored when it took them)."""
    if service == "assignment":
        return event.producer != Service.ASSIGNMENT and event.event_type in EVENT_HANDLERS
    return True


def topic_events(
    bootstrap: str, topic: Any, settings: StatsSettings
) -> tuple[list[CaseEvent], int]:
    """Every valid, signed event on the topic in its partitions' order, and how many
    records were not (the consumers dead-letter those)."""
    replay = TopicReplay(bootstrap, topic, settings.verifier())
    events: list[CaseEvent] = []
    try:
        replay.read_to_end(events.append)
    finally:
        replay.close()
    return events, replay.skipped


async def applied_by_services(databases: dict[str, MongoDatabase]) -> dict[str, Applied]:
    """What intake, assignment and remediation-tracking applied, from their databases."""
    views = await databases["intake"]["case_views"].find({}, {"event_ids": 1}).to_list(None)
    cases = await databases["assignment"]["cases"].find({}, {"processed": 1}).to_list(None)
    ledgers = await databases["remediation-tracking"]["cases"].find({}, {"ledger": 1}).to_list(None)
    return {
        "intake": {v["_id"]: list(v.get("event_ids", [])) for v in views},
        "assignment": {c["_id"]: list(c.get("processed", [])) for c in cases},
        "remediation-tracking": {
            c["_id"]: [entry["event_id"] for entry in c.get("ledger", [])] for c in ledgers
        },
    }


async def replay_differences(
    events: list[CaseEvent],
    databases: dict[str, MongoDatabase],
    fresh: dict[str, MongoDatabase],
) -> list[str]:
    """The topic replayed into `fresh` databases with the services' own code, compared
    with the live ones; assignment's decisions compared with the topic's."""
    differences: list[str] = []
    views = MongoCaseViews(fresh["intake"])
    for event in events:
        await views.apply(event)
    replayed_views = {
        view["_id"]: view for view in await fresh["intake"]["case_views"].find({}).to_list(None)
    }
    async for view in databases["intake"]["case_views"].find({}):
        if replayed_views.get(view["_id"]) != view:
            differences.append(f"intake's view of {view['_id']} differs from the replay")

    await record_events(CaseRepository(fresh["remediation-tracking"]), events)
    live = CaseRepository(databases["remediation-tracking"])
    replayed = CaseRepository(fresh["remediation-tracking"])
    async for case_id in live.case_ids():
        ours, theirs = await live.get(case_id), await replayed.get(case_id)
        if (
            ours is None
            or theirs is None
            or (ours.case, ours.ledger)
            != (
                theirs.case,
                theirs.ledger,
            )
        ):
            differences.append(f"remediation-tracking's {case_id} differs from the replay")

    decided: dict[str, tuple[str, str | None]] = {}
    for event in events:
        if event.event_type in ("CaseAssigned", "CaseReassigned"):
            decided[event.case_id] = (event.payload.department, event.payload.handler)  # type: ignore[attr-defined]
    async for case in databases["assignment"]["cases"].find({}):
        if decided.get(case["_id"], (None, None)) != (case.get("department"), case.get("handler")):
            differences.append(f"assignment's {case['_id']} differs from the topic's decision")
        if case.get("outbox"):
            differences.append(f"assignment's {case['_id']} has events left in its outbox")
    return differences


def statistics_differences(settings: StatsSettings, url: str, token: str) -> list[str]:
    out = io.StringIO()
    if reconcile(settings, url=url, token=token, timeout_s=60, out=out) == 0:
        return []
    return out.getvalue().splitlines()


def committed(bootstrap: str, groups: list[str], topic: str) -> dict[str, dict[int, int]]:
    """Each group's committed offsets on `topic`, by partition."""
    admin = KafkaAdminClient(**KafkaSecurity().client_config(), bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets(groups)
    finally:
        admin.close()
    return {
        group: {tp.partition: meta.offset for tp, meta in found.items() if tp.topic == topic}
        for group, found in offsets.items()
    }


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    reader = KafkaConsumer(**KafkaSecurity().client_config(), bootstrap_servers=bootstrap)
    try:
        ends = reader.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        reader.close()


async def caught_up(
    bootstrap: str, groups: list[str], topic: str, target: dict[int, int], timeout_s: float = 300
) -> float:
    """Seconds until every group has committed up to `target` (lag 0 against it)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            offsets = await asyncio.to_thread(committed, bootstrap, groups, topic)
        except KafkaError as error:  # a group's coordinator moving or loading after the fault
            if not error.retriable:
                raise
            await asyncio.sleep(0.5)
            continue
        if all(
            offsets[group].get(partition, 0) >= end
            for group in groups
            for partition, end in target.items()
        ):
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def connect_all(url: str, names: dict[str, str]) -> dict[str, MongoDatabase]:
    return {service: connect(url, name) for service, name in names.items()}
