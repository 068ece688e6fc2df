"""What the API and the business gauges read the case states from."""

from typing import Any, Protocol


class CaseSource(Protocol):
    """The live case states, and whether they are complete (tables recovered)."""

    @property
    def recovered(self) -> bool: ...

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the stored case states (`CaseState.to_json` form). Call it on the event
        loop, where the states are written; a stored value is replaced, never changed in
        place, so the copy may then be read in any thread."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
