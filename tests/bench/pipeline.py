"""The pipeline under open-loop load: intake -> Kafka -> assignment, remediation-tracking,
statistics (and intake's own read model) -> MongoDB.

A rate is sustainable when intake answered every request with 2xx, the generator kept to its
schedule, no consumer group's lag kept growing while the load ran, and every group caught up
within 10 s after the load stopped.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram
from kafka import KafkaConsumer, TopicPartition

from gridcase_contracts.topics import Headers
from tests.bench.httpload import Load, LoadResult, Target, new_histogram, run_load
from tests.bench.system import (
    CONSUMERS,
    SERVICES,
    LagProbe,
    Service,
    System,
    cpu_seconds,
    end_to_end_latencies,
    mongo_commands,
    publish_reports,
    service_memory,
)
from tests.kafka_login import client_settings

DRAIN_LIMIT_S = 10.0
EVENTS_PER_REPORT = 2
"""A routed report puts CaseReported and CaseAssigned on the topic."""
MAX_SEND_DELAY_MS = 100.0
"""Beyond this the generator itself fell behind its schedule: the step does not count."""

Say = Callable[[str], None]


@dataclass
class Step:
    http: LoadResult
    drain_s: float | None
    max_lag: dict[str, int]
    cpu_ms_per_report: dict[str, float]
    """From the load's start until its backlog drained (see cpu_ms_per_report())."""
    samples: list[dict[str, Any]] = field(repr=False)

    @property
    def lag_bounded(self) -> bool:
        """No group's lag at the end of the load exceeds its highest lag in the load's first
        half by more than two seconds of arrivals (a consumer slower than the arrivals
        falls further behind every second)."""
        during = [s for s in self.samples if s["at"] <= self.samples[0]["at"] + self.http.elapsed_s]
        if self.http.load.rate is None or len(during) < 4:
            return True
        first_half = during[: len(during) // 2]
        allowance = 2 * self.http.load.rate * EVENTS_PER_REPORT
        return all(
            during[-1]["lag"][group] <= max(s["lag"][group] for s in first_half) + allowance
            for group in during[-1]["lag"]
        )

    @property
    def sustainable(self) -> bool:
        return (
            self.http.ok == self.http.offered
            and self.http.max_send_delay_ms <= MAX_SEND_DELAY_MS
            and self.lag_bounded
            and self.drain_s is not None
            and self.drain_s <= DRAIN_LIMIT_S
        )

    def summary(self) -> dict[str, Any]:
        return {
            "http": self.http.summary(),
            "drain_s": None if self.drain_s is None else round(self.drain_s, 2),
            "max_lag": self.max_lag,
            "lag_bounded": self.lag_bounded,
            "sustainable": self.sustainable,
            "cpu_ms_per_report": self.cpu_ms_per_report,
        }


class Pipeline:
    def __init__(self, system: System, *, connections: int, say: Say) -> None:
        self.system = system
        self.target = Target(SERVICES[0].port)
        self.connections = connections
        self.say = say
        self.probe = LagProbe(system)
        self.sequence = 1_000_000
        """Report numbers for the next load; every load sends reports not sent before."""
        self.peak_memory: dict[str, float] = {}

    def remember_memory(self) -> None:
        for name, figures in service_memory().items():
            self.peak_memory[name] = max(self.peak_memory.get(name, 0.0), figures["VmHWM"])

    def load(
        self,
        rate: float | None,
        seconds: float,
        *,
        drain_wait_s: float,
        connections: int | None = None,
    ) -> Step:
        """Runs one load while sampling lag each second, then waits for the backlog to drain
        (reporting how long it took, up to `drain_wait_s`)."""
        load = Load(rate, seconds, connections or self.connections, first_sequence=self.sequence)
        self.sequence += int((rate or 5000) * seconds * 2) + 10_000
        samples: list[dict[str, Any]] = []
        stop = threading.Event()
        cpu_before = cpu_seconds()
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_load, self.target, load)
            while not running.done():
                samples.append(self.probe.sample())
                self.remember_memory()
                stop.wait(1.0)
            http = running.result()
        drain_s = self.probe.wait_until_drained(drain_wait_s, samples)
        cpu = cpu_ms_per_report(cpu_before, cpu_seconds(), http.ok)
        self.remember_memory()
        max_lag = {
            service: max((s["lag"][service] for s in samples), default=0)
            for service in self.probe.groups
        }
        return Step(http, drain_s, max_lag, cpu, samples)

    def idle_cpu(self, seconds: float) -> dict[str, float]:
        """CPU milliseconds per second of each process tree with no load (timers, polls):
        the part of a step's CPU per report that does not grow with the rate."""
        before = cpu_seconds()
        time.sleep(seconds)
        after = cpu_seconds()
        return {
            name: round((after[name] - before[name]) * 1000 / seconds, 1)
            for name in after
            if name in before
        }

    def settle(self, timeout_s: float) -> bool:
        """Waits until nothing is left in any consumer's backlog."""
        return self.probe.wait_until_drained(timeout_s, []) is not None

    def find_sustainable_rate(
        self, *, start: float, seconds: float, max_steps: int, settle_s: float
    ) -> tuple[float | None, list[dict[str, Any]]]:
        """Doubles the rate until a step fails, then bisects between the last good and the
        first failed rate until they are within 15 % (or the steps are used up)."""
        good: float | None = None
        bad: float | None = None
        rate = start
        steps: list[dict[str, Any]] = []
        for _ in range(max_steps):
            step = self.load(rate, seconds, drain_wait_s=DRAIN_LIMIT_S + 2)
            steps.append(step.summary())
            verdict = "sustainable" if step.sustainable else "NOT sustainable"
            p99 = step.http.percentile_ms(99) or 0
            self.say(
                f"  {rate:7.1f}/s: {step.http.ok}/{step.http.offered} 2xx, p99 {p99:.0f} ms, "
                f"max lag {max(step.max_lag.values())}, "
                f"drain {'-' if step.drain_s is None else f'{step.drain_s:.1f} s'}: {verdict}"
            )
            if step.sustainable:
                good = rate
            else:
                bad = rate
            if not self.settle(settle_s):
                self.say("  the backlog did not drain; the search stops here")
                break
            if bad is None:
                rate = rate * 2
            elif good is None:
                rate = rate / 2
            elif bad / good <= 1.15:
                break
            else:
                rate = (good + bad) / 2
        return good, steps

    def end_to_end(self, rate: float, seconds: float) -> dict[str, Any]:
        """Latency figures at `rate`: the HTTP accept latency (HDR, from intended send time),
        each consumer's accept-to-acknowledged-write latency (HDR of the exact latencies it
        recorded), accept-to-CaseAssigned on the bus per case (HDR, from the topic), and
        per accepted report each service's MongoDB commands and the CPU milliseconds of each
        service, Kafka, PostgreSQL and the Mongo-wire server (timers and relays included,
        from the load's start until its backlog drained)."""
        since_ns = time.time_ns()
        commands_before = mongo_commands()
        step = self.load(rate, seconds, drain_wait_s=60)
        commands = per_report(commands_before, mongo_commands(), step.http.ok)
        consumers = {
            service: percentiles(histogram)
            for service, histogram in sorted(end_to_end_latencies(since_ns).items())
        }
        return {
            "rate": rate,
            "step": step.summary(),
            "consumer_end_to_end_hdr": consumers,
            "accept_to_case_assigned_hdr": self.accept_to_assigned(since_ns),
            "mongo_ops_per_report": {
                "total": round(sum(c["total"] for c in commands.values()), 2),
                **commands,
            },
            "cpu_ms_per_report": step.cpu_ms_per_report,
        }

    def accept_to_assigned(self, since_ns: int) -> dict[str, Any]:
        """Reads the topic back: for every case accepted since `since_ns`, the time from
        intake's accept (the ingest header of CaseReported) to the Kafka timestamp of
        assignment's answer (CaseAssigned or CaseMarkedDuplicate), which its outbox relay sends
        only after its MongoDB write was acknowledged."""
        consumer = KafkaConsumer(
            **client_settings(self.system.bootstrap),
            enable_auto_commit=False,
            consumer_timeout_ms=2000,
            max_poll_records=2000,
        )
        partitions = [
            TopicPartition(self.system.topic.name, p) for p in range(self.system.topic.partitions)
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        accepted: dict[bytes, int] = {}
        histogram: HdrHistogram = new_histogram()
        for record in consumer:
            headers = dict(record.headers or [])
            event_type = headers.get(Headers.EVENT_TYPE, b"")
            if event_type == b"CaseReported" and Headers.INGEST_TS in headers:
                ingest_ns = int(headers[Headers.INGEST_TS])
                if ingest_ns >= since_ns:
                    accepted[record.key] = ingest_ns
            elif event_type in (b"CaseAssigned", b"CaseMarkedDuplicate"):
                ingest_ns = accepted.pop(record.key, None)
                if ingest_ns is not None:
                    micros = (record.timestamp * 1_000_000 - ingest_ns) // 1000
                    histogram.record_value(max(1, micros))
        consumer.close()
        return {"unanswered": len(accepted), **percentiles(histogram)}

    def capacity(self, seconds: float, backlog: int, settle_s: float) -> dict[str, Any]:
        """Intake at saturation (closed loop) while the other services are stopped (so it
        has the machine to itself, as B_http had), then each consumer's own rate."""
        others = [service for service in SERVICES if service != SERVICES[0]]
        self.system.stop(*others)
        try:
            step = self.load(None, seconds, drain_wait_s=0)
        finally:
            for service in others:
                self.system.start_one(service)
        self.settle(settle_s)
        return {
            "intake": step.summary(),
            "intake_accept_per_s": round(step.http.ok_rate, 1),
            "consumer_catch_up": {
                service.name: self.catch_up(service, backlog, settle_s) for service in CONSUMERS
            },
        }

    def catch_up(self, service: Service, backlog: int, settle_s: float) -> dict[str, Any]:
        """The rate of one consumer on its own: it is stopped, `backlog` reports are
        published straight to the topic (as intake would) and worked by the others, then it
        is started again and its committed offsets are followed from its first commit until
        it has caught up. Events it emits while catching up are part of its work."""
        self.system.stop(service)
        try:
            publish_reports(self.system, self.sequence, backlog)
            self.sequence += backlog
            others_drained = self.probe.wait_until_drained(settle_s, [], ignore=service.name)
            before = self.probe.sample()
        finally:
            self.system.start_one(service)
        caught_up = self.probe.follow_catch_up(service.name, before, settle_s)
        self.remember_memory()
        return {
            "backlog_reports": backlog,
            "others_drained": others_drained is not None,
            **caught_up,
        }

    def overload(self, rate: float, seconds: float, settle_s: float) -> dict[str, Any]:
        """`rate` from four times the connections: clients that can have more reports in
        work at once than intake takes (INTAKE_MAX_REPORTS_IN_WORK), so it must shed them."""
        step = self.load(rate, seconds, drain_wait_s=settle_s, connections=4 * self.connections)
        over_limit = {name: mb for name, mb in self.peak_memory.items() if mb > 1024}
        return {
            "rate": rate,
            "step": step.summary(),
            "failures": step.http.failures,
            "drained": step.drain_s is not None,
            "services_over_1_gib": over_limit,
            "passed": step.http.failures == 0 and step.drain_s is not None and not over_limit,
        }

    def close(self) -> None:
        self.probe.close()


def consumer_rates(capacity: dict[str, Any]) -> dict[str, float | None]:
    """Each consumer's own events per second from a capacity() result."""
    return {
        service: figures.get("events_per_s")
        for service, figures in capacity.get("consumer_catch_up", {}).items()
    }


def per_report(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], reports: int
) -> dict[str, dict[str, float]]:
    """Each service's commands between two mongo_commands() readings, per report: in all
    and by command name."""
    figures: dict[str, dict[str, float]] = {}
    for service, counts in after.items():
        sent = {c: n - before.get(service, {}).get(c, 0.0) for c, n in counts.items()}
        by_command = {c: round(n / reports, 2) for c, n in sorted(sent.items()) if n and reports}
        total = round(sum(sent.values()) / reports, 2) if reports else 0.0
        figures[service] = {"total": total, **by_command}
    return figures


def cpu_ms_per_report(
    before: dict[str, float], after: dict[str, float], reports: int
) -> dict[str, float]:
    """CPU milliseconds per report of each process tree between two cpu_seconds()
    readings, and of all of them together."""
    if not reports:
        return {}
    figures = {
        name: round((after[name] - before[name]) * 1000 / reports, 2)
        for name in after
        if name in before
    }
    return {**figures, "total": round(sum(figures.values()), 2)}


def percentiles(histogram: HdrHistogram) -> dict[str, Any]:
    """Count, p50, p99, p99.9 and max of a histogram of microseconds, in milliseconds."""
    if not histogram.get_total_count():
        return {"events": 0}
    return {
        "events": histogram.get_total_count(),
        **{f"p{p}_ms": histogram.get_value_at_percentile(p) / 1000 for p in (50, 99, 99.9)},
        "max_ms": histogram.get_max_value() / 1000,
    }
