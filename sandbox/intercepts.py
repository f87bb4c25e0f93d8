"""Sandbox warehouse intercepts: stop an order that has not shipped yet."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.common import create_once, get_faults, get_store

router = APIRouter(prefix="/warehouse", tags=["warehouse"])


class InterceptIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    reference: str = Field(min_length=1, max_length=255)
    order_id: str = Field(min_length=1, max_length=255)


@router.post("/intercepts", status_code=201, response_model=None)
async def intercept(body: InterceptIn, request: Request) -> dict[str, Any] | JSONResponse:
    """Pulls the order before it leaves. Inject a ``decline`` fault to play "the parcel already left"."""
    await get_faults(request).apply("warehouse.intercept")
    fields = {"reference": body.reference, "order_id": body.order_id, "status": "intercepted"}
    record, created = create_once(get_store(request), "intercepts", body.idempotency_key, fields, "icp")
    return record if created else JSONResponse(record, status_code=200)


@router.get("/intercepts")
async def list_intercepts(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records("intercepts", reference)}
