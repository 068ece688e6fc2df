"""The faust agent in faust's test context (no broker): one table value per case, events
counted once however often they are delivered, bad records dead-lettered, an event
acknowledged only once its write is delivered."""

import asyncio
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import pytest
from faust.types import TP
from prometheus_client import REGISTRY

from gridcase_contracts.codec import encode
from gridcase_contracts.codes import Service
from gridcase_contracts.topics import Headers
from gridcase_stats.config import StatsSettings
from gridcase_stats.domain.case_state import CaseState, load_states
from gridcase_stats.domain.figures import Metric, Scope, summary
from gridcase_stats.entrypoints import consumer
from gridcase_stats.entrypoints.consumer import CaseStream
from producers import AsProducers, key_of


def stream(tmp_path: Path) -> CaseStream:
    settings = StatsSettings(
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        GRIDCASE_TOPIC_NAMESPACE="unit",
        data_dir=tmp_path,
    )
    case_stream = CaseStream(settings)
    case_stream.app.conf.store = "memory://"
    case_stream.app.finalize()
    case_stream.app.flow_control.resume()
    case_stream.start_offsets = AsyncMock(return_value={0: 0})  # type: ignore[method-assign]
    return case_stream


async def test_redelivered_events_are_counted_once(
    tmp_path: Path, fixed: Any, story: Any, may_day: datetime
) -> None:
    case_stream = stream(tmp_path)
    events = [*fixed("GC-agent-1", may_day).events, *story("GC-agent-2", may_day).events]
    async with case_stream.agent.test_context() as agent:
        for event in [*events, *events[:4]]:  # the first four delivered twice
            key, value, headers = encode(event)
            await agent.put(value, key=key, headers=AsProducers().sign(key, value, headers))
    assert sorted(case_stream.cases.keys()) == ["GC-agent-1", "GC-agent-2"]
    first = CaseState.from_json(case_stream.cases["GC-agent-1"])
    assert len(first.event_ids) == 7
    assert first.status == "closed"
    figures = summary(load_states(case_stream.snapshot()), Scope())
    assert (figures[Metric.FOUND], figures[Metric.RESOLVED], figures["open"]) == (2, 1, 1)


async def test_an_event_is_acknowledged_only_once_its_state_is_on_the_broker(
    tmp_path: Path, story: Any, may_day: datetime
) -> None:
    case_stream = stream(tmp_path)
    reported, assigned = story("GC-agent-6", may_day).assigned(1).events[:2]
    async with case_stream.agent.test_context() as agent:
        taken = []
        for event in (reported, assigned, reported):  # the last one a redelivery
            key, value, headers = encode(event)
            signed = AsProducers().sign(key, value, headers)
            taken.append(await agent.put(value, key=key, headers=signed))
        pending = case_stream.app.producer.buffer.pending
        first, second = pending.get_nowait(), pending.get_nowait()  # not sent yet
        assert first.message.key == b'"GC-agent-6"'  # the table's JSON key
        second.set_result(None)
        await asyncio.sleep(0)
        # none, so no offset can be committed: the first event's write is not delivered
        assert [event.message.acked for event in taken] == [False, False, False]
        first.set_result(None)
        await asyncio.sleep(0)
        assert [event.message.acked for event in taken] == [True, True, True]


async def test_a_write_the_producer_gave_up_on_ends_the_process_unacknowledged(
    tmp_path: Path, story: Any, may_day: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    exits: list[int] = []

    def exit_at_once(status: int) -> None:  # as os._exit, the caller goes no further
        exits.append(status)
        raise RuntimeError("exited")

    monkeypatch.setattr(consumer.os, "_exit", exit_at_once)
    case_stream = stream(tmp_path)
    key, value, headers = encode(story("GC-agent-7", may_day).events[0])
    async with case_stream.agent.test_context() as agent:
        event = await agent.put(value, key=key, headers=AsProducers().sign(key, value, headers))
        case_stream.app.producer.buffer.pending.get_nowait().set_exception(TimeoutError())
        await asyncio.sleep(0)
    assert not event.message.acked
    assert exits == [consumer.EXIT_STREAM_FAILED]


async def test_a_crashed_stream_ends_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exits: list[int] = []

    def exit_at_once(status: int) -> None:
        exits.append(status)
        raise RuntimeError("exited")

    monkeypatch.setattr(consumer.os, "_exit", exit_at_once)
    case_stream = stream(tmp_path)
    watch = asyncio.create_task(case_stream.exit_when_crashed())
    await asyncio.sleep(0.05)
    assert not watch.done()
    await case_stream.app.crash(RuntimeError("the producer's buffer died"))
    with pytest.raises(RuntimeError, match="exited"):
        await watch
    assert exits == [consumer.EXIT_STREAM_FAILED]


async def test_a_stream_stopped_on_purpose_does_not_end_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exits: list[int] = []
    monkeypatch.setattr(consumer.os, "_exit", exits.append)
    case_stream = stream(tmp_path)
    watch = asyncio.create_task(case_stream.exit_when_crashed())
    await case_stream.app.stop()
    await watch
    assert exits == []


async def test_an_unparsable_record_is_dead_lettered_and_the_stream_goes_on(
    tmp_path: Path, story: Any, may_day: datetime
) -> None:
    case_stream = stream(tmp_path)
    dead: list[Any] = []

    async def capture(**record: Any) -> None:
        dead.append(record)

    case_stream.dlq.send = capture  # type: ignore[method-assign]
    nonsense = b'{"event_type": "Nonsense"}'
    signed = key_of(Service.INTAKE).sign(
        b"GC-agent-3", nonsense, [(Headers.TRACEPARENT, b"00-trace-3")]
    )
    async with case_stream.agent.test_context() as agent:
        await agent.put(nonsense, key=b"GC-agent-3", headers=signed)
        key, value, headers = encode(story("GC-agent-4", may_day).events[0])
        await agent.put(value, key=key, headers=AsProducers().sign(key, value, headers))
    assert list(case_stream.cases.keys()) == ["GC-agent-4"]
    assert len(dead) == 1
    assert (dead[0]["key"], dead[0]["value"]) == (b"GC-agent-3", b'{"event_type": "Nonsense"}')
    assert dead[0]["headers"] == [  # the runtime's dead-letter headers, as every consumer's
        *signed,
        (Headers.DLQ_ERROR, b"unknown event_type 'Nonsense'"),
        (Headers.DLQ_ERROR_TYPE, b"UnknownEventError"),
        (Headers.DLQ_SOURCE, b"unit.gridcase.case-events/0/0"),
        (Headers.DLQ_CONSUMER, b"unit.gridcase-statistics"),  # the faust app id: the group
    ]


async def test_unsigned_and_wrongly_signed_records_are_dead_lettered(
    tmp_path: Path, story: Any, may_day: datetime
) -> None:
    case_stream = stream(tmp_path)
    dead: list[Any] = []

    async def capture(**record: Any) -> None:
        dead.append(record)

    case_stream.dlq.send = capture  # type: ignore[method-assign]
    reported = story("GC-agent-5", may_day).events[0]
    key, value, headers = encode(reported)
    async with case_stream.agent.test_context() as agent:
        await agent.put(value, key=key, headers=headers)
        signed = key_of(Service.ASSIGNMENT).sign(key, value, headers)
        await agent.put(value, key=key, headers=signed)
    assert list(case_stream.cases.keys()) == []
    errors = [dict(record["headers"])[Headers.DLQ_ERROR] for record in dead]
    assert errors == [
        b"the record is not signed",
        b"CaseReported is produced by intake, but the record is signed by assignment",
    ]


async def test_records_faust_passed_over_are_read_again_and_taken_first(
    tmp_path: Path, story: Any, may_day: datetime
) -> None:
    case_stream = stream(tmp_path)
    reported, assigned, accepted = story("GC-agent-12", may_day).assigned(1).accepted(1).events[:3]
    records = [record(offset, event) for offset, event in enumerate((reported, assigned))]
    case_stream.reread = AsyncMock(  # type: ignore[method-assign]
        side_effect=lambda tp, start, end: [
            consumer.Reread(r, case_stream.app.consumer) for r in records[start:end]
        ]
    )
    async with case_stream.agent.test_context() as agent:
        agent.sent_offset = 2  # faust passed over offsets 0 and 1
        key, value, headers = encode(accepted)
        await agent.put(value, key=key, headers=AsProducers().sign(key, value, headers))
        delivered = case_stream.app.producer.buffer.pending
        while not delivered.empty():
            delivered.get_nowait().set_result(None)
        await asyncio.sleep(0)
    case_stream.reread.assert_awaited_once()
    state = CaseState.from_json(case_stream.cases["GC-agent-12"])
    assert (state.status, len(state.event_ids)) == ("accepted", 3)
    assert REGISTRY.get_sample_value("gridcase_statistics_passed_over_total") >= 2


def record(offset: int, event: Any) -> Any:
    """A kafka-python ConsumerRecord's fields, for `event` at `offset` of partition 0."""
    key, value, headers = encode(event)
    return SimpleNamespace(
        topic="unit.gridcase.case-events",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        headers=AsProducers().sign(key, value, headers),
        key=key,
        value=value,
    )


class TestGaplessOffsets:
    """Records are taken in offset order from where the partition starts (the committed
    offset, or its first); the ones passed over are read again; one read again is fine."""

    @staticmethod
    def message(offset: int, generation: int = 1, partition: int = 0) -> Any:
        tp = TP("events", partition)
        return SimpleNamespace(
            tp=tp, topic=tp.topic, partition=partition, offset=offset, generation_id=generation
        )

    @staticmethod
    def offsets(**starts: int) -> consumer.GaplessOffsets:
        """Each partition p<n> starting at starts[p<n>]; the records read again by offset."""
        return consumer.GaplessOffsets(
            AsyncMock(return_value={int(p[1:]): start for p, start in starts.items()}),
            AsyncMock(side_effect=lambda tp, start, end: list(range(start, end))),
        )

    async def test_from_the_start_on_and_read_again(self) -> None:
        offsets = self.offsets(p0=5, p1=0)
        for offset in (5, 6, 4, 5, 6, 7):
            assert await offsets.take(self.message(offset)) == []
        assert await offsets.take(self.message(0, partition=1)) == []

    @pytest.mark.parametrize(
        ("start", "taken", "passed_over"),
        [(5, [6], [5]), (5, [5, 6, 9], [7, 8]), (0, [28], list(range(28)))],
    )
    async def test_the_records_passed_over_are_read_again(
        self, start: int, taken: list[int], passed_over: list[int]
    ) -> None:
        offsets = self.offsets(p0=start)
        *before, after_the_gap = taken
        for offset in before:
            assert await offsets.take(self.message(offset)) == []
        assert await offsets.take(self.message(after_the_gap)) == passed_over
        assert await offsets.take(self.message(after_the_gap + 1)) == []

    async def test_a_new_generation_starts_again_from_its_start(self) -> None:
        offsets = self.offsets(p0=3)
        for offset in (3, 4, 5, 6):
            await offsets.take(self.message(offset))
        assert await offsets.take(self.message(3, generation=2)) == []
        assert await offsets.take(self.message(5, generation=2)) == [4]
