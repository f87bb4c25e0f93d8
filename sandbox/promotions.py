"""Sandbox promotions partner: coupons with codes and loyalty points, at most one per idempotency key."""

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.common import create_once, get_faults, get_store, random_code
from sandbox.payments import parse_amount

TABLE = "promotions"

router = APIRouter(prefix="/promotions", tags=["promotions"])


class PromotionIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    customer_id: str = Field(min_length=1, max_length=255)
    kind: Literal["coupon", "points"]
    amount: Any  # a decimal string, checked like a refund's
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    reference: str = Field(min_length=1, max_length=255)


@router.post("", status_code=201, response_model=None)
async def issue(body: PromotionIn, request: Request) -> dict[str, Any] | JSONResponse:
    """A retry with the same key answers the first promotion (200), never a second coupon."""
    await get_faults(request).apply("promotions.issue")
    currency = body.currency.upper()
    fields = {
        "customer_id": body.customer_id,
        "kind": body.kind,
        "amount": str(parse_amount(body.amount, currency)),
        "currency": currency,
        "reference": body.reference,
    }
    store = get_store(request)
    with store.transaction():  # the code of a first issue, or the one a retry already got
        existing = store.get_by_key(TABLE, body.idempotency_key)
        code = existing.get("code") if existing else (f"SORRY-{random_code(8)}" if body.kind == "coupon" else None)
        promotion, created = create_once(store, TABLE, body.idempotency_key, {**fields, "code": code}, "promo")
    return promotion if created else JSONResponse(promotion, status_code=200)


@router.get("")
async def list_promotions(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records(TABLE, reference)}
