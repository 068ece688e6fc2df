"""Administration: refolding case projections from their ledgers."""

from fastapi import APIRouter

from gridcase_remediation.entrypoints import schemas
from gridcase_remediation.entrypoints.dependencies import Admin, ComponentsDep
from gridcase_remediation.handlers import rebuild_projections

router = APIRouter(prefix="/v1/admin", tags=["administration"])


@router.post("/rebuild-projections", response_model=schemas.RebuildReport)
async def rebuild(
    parts: ComponentsDep, _principal: Admin, case_id: str | None = None
) -> schemas.RebuildReport:
    """Rebuild case projections from their ledgers (one case, or all)."""
    checked, repaired = await rebuild_projections(parts.repository, case_id)
    return schemas.RebuildReport(checked=checked, repaired=repaired)
