"""``GET /v1/returns/{return_id}/audit``: who decided and did what to a return, oldest first."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from api.auth import allow
from api.deps import Session
from api.problems import Problem
from api.request_log import bind_return
from store import audit, returns
from store.audit import AuditItem
from store.cursor import BadCursor

router = APIRouter(prefix="/v1/returns", tags=["returns"])


class AuditPage(BaseModel):
    items: list[AuditItem]
    next_cursor: str | None


@router.get("/{return_id}/audit", response_model=AuditPage, dependencies=[Depends(allow("service", "operator"))])
async def return_audit(
    return_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AuditPage:
    """Creation (the rules that fired, staff overrides, the policy version, the outcome), review,
    inspection, cancel, urge, dispute: each with its actor. Pass ``next_cursor`` back as ``cursor``."""
    bind_return(return_id)
    if await returns.get_return(session, return_id) is None:
        raise Problem(404, f"no return {return_id}")
    try:
        items, next_cursor = await audit.entries(session, return_id, limit, cursor)
    except BadCursor as bad:
        raise Problem(422, str(bad), [{"field": "cursor", "code": "invalid_cursor", "message": str(bad)}]) from None
    return AuditPage(items=items, next_cursor=next_cursor)
