"""Rate limits in fixed windows: at most `limit` requests per caller in each minute of the
clock. The counts live where every replica sees them (intake's database), so N replicas
allow the limit once, not N times; a caller may use a whole window's allowance at its end
and the next one's at its start."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

WINDOW_S = 60


@dataclass(frozen=True)
class Window:
    """One caller's window: the minute (epoch seconds) it started."""

    key: str
    start: int

    @property
    def end(self) -> int:
        return self.start + WINDOW_S

    @property
    def document_id(self) -> str:
        return f"{self.key}@{self.start}"

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.end, UTC)


def window_of(key: str, now: float) -> Window:
    return Window(key, int(now // WINDOW_S) * WINDOW_S)


def reporter_key(reporter_id: str) -> str:
    """The limit of new reports, per volunteer or Open311 client."""
    return f"report:{reporter_id}"


def reader_key(address: str) -> str:
    """The limit of anonymous Open311 reads, per client address."""
    return f"open311-read:{address}"


def retry_after_header(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))
