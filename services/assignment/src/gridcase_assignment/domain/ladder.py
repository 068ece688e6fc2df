"""The escalation ladder of one overdue stage: reminder to the handler (level 1), to the
department head (level 2), a supervision notice (level 3); each level at most once."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from gridcase_contracts.codes import Stage

LEVELS = (1, 2, 3)
Target = Literal["handler", "department-head", "supervision"]
TARGETS: Mapping[int, Target] = {1: "handler", 2: "department-head", 3: "supervision"}


@dataclass(frozen=True)
class LadderPolicy:
    """How long after the overdue was detected levels 2 and 3 fire (level 1 at once)."""

    level2_delay: timedelta
    level3_delay: timedelta

    def fire_at(self, level: int, overdue_at: datetime) -> datetime:
        delays = {1: timedelta(0), 2: self.level2_delay, 3: self.level3_delay}
        return overdue_at + delays[level]


@dataclass(frozen=True)
class StageLadder:
    """The ladder of one stage. `done`: the stage was completed, nothing more fires."""

    stage: Stage
    due_at: datetime
    overdue_at: datetime
    fired: tuple[int, ...] = ()
    done: bool = False

    def levels_due(self, now: datetime, policy: LadderPolicy) -> tuple[int, ...]:
        """Levels not fired yet whose time has come, lowest first."""
        if self.done:
            return ()
        return tuple(
            level
            for level in LEVELS
            if level not in self.fired and policy.fire_at(level, self.overdue_at) <= now
        )

    def next_at(self, policy: LadderPolicy) -> datetime | None:
        """When the next level fires; None when the ladder is finished."""
        if self.done:
            return None
        pending = [
            policy.fire_at(level, self.overdue_at) for level in LEVELS if level not in self.fired
        ]
        return min(pending, default=None)

    def fire(self, levels: tuple[int, ...]) -> "StageLadder":
        return replace(self, fired=tuple(sorted({*self.fired, *levels})))

    def finish(self) -> "StageLadder":
        return replace(self, done=True)
