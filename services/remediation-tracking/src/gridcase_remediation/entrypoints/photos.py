"""Evidence photos, served to whoever may see their case."""

from fastapi import APIRouter, HTTPException, Request, Response

from gridcase_remediation.entrypoints.dependencies import (
    NOT_FOUND,
    ComponentsDep,
    Reader,
    readable,
)
from gridcase_runtime.audit import record_access

router = APIRouter(prefix="/v1", tags=["photos"])


@router.get("/photos/{photo_id}", response_class=Response, responses=NOT_FOUND)
async def photo(
    request: Request, parts: ComponentsDep, photo_id: str, principal: Reader
) -> Response:
    """An evidence photo, to whoever may see its case."""
    loaded = await parts.photos.load(photo_id)
    if loaded is None:
        raise HTTPException(404, {"error": "not-found", "message": f"no photo {photo_id}"})
    stored, data = loaded
    await readable(parts, stored.owner, principal)
    record_access(request, principal, "photo.download", case_id=stored.owner, resource=photo_id)
    return Response(
        data,
        media_type=stored.content_type,
        headers={"Cache-Control": "private, max-age=86400", "ETag": f'"{stored.sha256}"'},
    )
