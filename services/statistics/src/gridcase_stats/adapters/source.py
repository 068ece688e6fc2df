"""Where the API reads case states from."""

from typing import Protocol

from gridcase_stats.domain.case_state import CaseState


class CaseSource(Protocol):
    """The live case states, and whether they are complete (tables recovered)."""

    @property
    def recovered(self) -> bool: ...

    def states(self) -> list[CaseState]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
