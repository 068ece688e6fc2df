"""What the handlers need from the outside world; adapters and fakes implement these."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from gridcase_contracts.envelope import Envelope
from gridcase_contracts.events import CaseEvent
from gridcase_intake.config import IntakeSettings
from gridcase_intake.domain.api_keys import ApiKeyRecord
from gridcase_intake.domain.geography import Geography
from gridcase_intake.domain.idempotency import KeyRecord, StoredResponse
from gridcase_runtime.photos import CheckedPhoto, StoredPhoto


class Publisher(Protocol):
    async def publish(self, event: Envelope, *, ingest_ts_ns: int | None = None) -> None:
        """Returns once Kafka acknowledged; raises PublishError otherwise."""


class CaseViews(Protocol):
    async def apply(self, event: CaseEvent, *, accepted_here: bool = False) -> bool: ...

    async def apply_batch(self, events: Sequence[CaseEvent]) -> int:
        """Applies consumed events, each once, each case's in their order; returns how many
        were applied before (a report, applied again harmlessly, is never counted)."""

    async def get(self, case_id: str) -> dict[str, Any] | None: ...

    async def by_token(self, token: str) -> dict[str, Any] | None: ...

    async def of_reporter(
        self, reporter_id: str, *, kind: str, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]: ...

    async def search(
        self,
        *,
        case_ids: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        channel: str | None = None,
        reported_from: datetime | None = None,
        reported_until: datetime | None = None,
        skip: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]: ...


class IdempotencyKeys(Protocol):
    async def find(self, key_id: str) -> KeyRecord | None: ...

    async def insert(self, record: KeyRecord) -> KeyRecord | None: ...

    async def take_over(
        self, record: KeyRecord, attempt: str, lease_until: datetime
    ) -> KeyRecord | None: ...

    async def complete(self, key_id: str, attempt: str, response: StoredResponse) -> None: ...

    async def release(self, key_id: str, attempt: str, now: datetime) -> None: ...

    async def sweep(self, now: datetime) -> int: ...


class RateLimits(Protocol):
    async def acquire(self, key: str, limit: int) -> float | None:
        """Counts a request of `key` in its current window: None if it is within `limit`,
        else the seconds until the next window."""

    async def refund(self, key: str) -> None:
        """Gives back a request counted in the current window that was not served."""

    async def sweep(self, now: datetime) -> int:
        """Deletes the windows that ended before `now`."""


class ApiKeys(Protocol):
    async def insert(self, record: ApiKeyRecord) -> None: ...

    async def get(self, key_id: str) -> ApiKeyRecord | None: ...

    async def all(self) -> list[ApiKeyRecord]: ...

    async def revoke(self, key_id: str, at: datetime) -> ApiKeyRecord | None:
        """The revoked record (revoked now or before); None if there is no such key."""


class Photos(Protocol):
    async def save(
        self, photo: CheckedPhoto, *, owner: str, photo_id: str | None = None
    ) -> StoredPhoto: ...

    async def load(self, photo_id: str) -> tuple[StoredPhoto, bytes] | None: ...


class Reporting(Protocol):
    """What submitting a report needs: the adapters, the city's geography, the settings and
    the clock (`commands.Intake` holds them)."""

    @property
    def settings(self) -> IntakeSettings: ...

    @property
    def publisher(self) -> Publisher: ...

    @property
    def cases(self) -> CaseViews: ...

    @property
    def keys(self) -> IdempotencyKeys: ...

    @property
    def photos(self) -> Photos: ...

    @property
    def limits(self) -> RateLimits: ...

    @property
    def geography(self) -> Geography: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...
