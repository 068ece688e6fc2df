"""Administrators issue, list and revoke Open311 api keys; a key is shown once, at issue."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel, Field

from gridcase_intake.domain.api_keys import NAME_PATTERN, ApiKeyRecord
from gridcase_intake.entrypoints.dependencies import Admin, IntakeDep

router = APIRouter(prefix="/v1/admin/api-keys", tags=["api keys"])

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]


class ApiKeyIn(BaseModel):
    name: str = Field(pattern=NAME_PATTERN, description="the Open311 client the key is for")


class ApiKeyOut(BaseModel):
    key_id: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> "ApiKeyOut":
        return cls(
            key_id=record.key_id,
            name=record.name,
            created_at=record.created_at,
            created_by=record.created_by,
            revoked_at=record.revoked_at,
        )


class IssuedApiKey(ApiKeyOut):
    api_key: str = Field(description="the key itself: shown this once, stored only as a hash")


@router.post("", status_code=status.HTTP_201_CREATED)
async def issue_api_key(body: ApiKeyIn, admin: Admin, intake: IntakeDep) -> IssuedApiKey:
    api_key, record = await intake.issue_api_key(body.name, by=admin.subject)
    return IssuedApiKey(**ApiKeyOut.of(record).model_dump(), api_key=api_key)


@router.get("")
async def list_api_keys(_admin: Admin, intake: IntakeDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(record) for record in await intake.api_keys.all()]


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no api key with this id"}},
)
async def revoke_api_key(key_id: KeyId, _admin: Admin, intake: IntakeDep) -> Response:
    if await intake.api_keys.revoke(key_id, intake.clock()) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no api key {key_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
