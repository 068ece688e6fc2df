"""Fault points for the chaos suite. `GRIDCASE_FAULT_POINT` names one point where the
process kills itself (SIGKILL) the first time it gets there, so that a crash falls
exactly into a window the suite proves safe:

- `after-store-before-commit`: a consumer's batch is stored, its offsets not committed;
- `after-ack-before-answer`: intake's report is acknowledged by Kafka, not yet answered.

Unset, as everywhere but in that suite, a point costs one string comparison."""

import os
import signal

FAULT_POINT = os.environ.get("GRIDCASE_FAULT_POINT", "")


def crash_at(point: str) -> None:
    """Dies here, as a crash would, if `point` is the fault point switched on."""
    if point == FAULT_POINT:
        os.kill(os.getpid(), signal.SIGKILL)
