"""Sandbox fulfilment for virtual goods: revoking an entitlement (licence, course, voucher)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.common import create_once, get_faults, get_store

router = APIRouter(prefix="/fulfilment", tags=["fulfilment"])


class RevocationIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    reference: str = Field(min_length=1, max_length=255)
    order_id: str = Field(min_length=1, max_length=255)
    line_id: str = Field(min_length=1, max_length=255)
    sku: str = Field(min_length=1, max_length=128)
    quantity: int = Field(ge=1, le=100_000)


@router.post("/revocations", status_code=201, response_model=None)
async def revoke(body: RevocationIn, request: Request) -> dict[str, Any] | JSONResponse:
    await get_faults(request).apply("fulfilment.revoke")
    fields = body.model_dump(exclude={"idempotency_key"}) | {"status": "revoked"}
    revocation, created = create_once(get_store(request), "revocations", body.idempotency_key, fields, "rev")
    return revocation if created else JSONResponse(revocation, status_code=200)


@router.get("/revocations")
async def list_revocations(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records("revocations", reference)}
