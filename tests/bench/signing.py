"""The cost of signing and verifying events (µs per event), on intake's ~1 KB reports:
`python -m tests.bench.signing` on its own, and part of the baselines."""

import statistics
import time
from collections.abc import Callable
from typing import Any

from gridcase_contracts.codec import decode, encode
from gridcase_contracts.codes import Service
from tests.bench.workload import case_reported
from tests.producers import key_of, trusted


def per_event_us(work: Callable[[], object], events: int, rounds: int) -> float:
    """The median over `rounds` of the CPU time of `work` (which handles `events`) per event
    (CPU rather than wall time: the host is shared, and waiting for a core is not the cost)."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) / events)
    return statistics.median(times) * 1e6


def measure_signing(count: int = 2000, rounds: int = 7) -> dict[str, Any]:
    intake = key_of(Service.INTAKE)
    verifier = trusted()
    records = [encode(case_reported(n, f"GC-20250101-{n:08d}")) for n in range(count)]
    signed = [(k, v, intake.sign(k, v, h)) for k, v, h in records]
    return {
        "events": count,
        "record_value_bytes": len(records[0][1]),
        "algorithm": "Ed25519",
        "sign_us": round(
            per_event_us(lambda: [intake.sign(*r) for r in records], count, rounds), 1
        ),
        "verify_us": round(
            per_event_us(lambda: [verifier.signer_of(*r) for r in signed], count, rounds), 1
        ),
        "decode_us": round(
            per_event_us(lambda: [decode(v) for _, v, _ in signed], count, rounds), 1
        ),
        "verified_decode_us": round(
            per_event_us(lambda: [verifier.event_of(*r) for r in signed], count, rounds), 1
        ),
    }


if __name__ == "__main__":
    for name, value in measure_signing().items():
        print(f"{name:20} {value}")
