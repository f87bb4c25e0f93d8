"""Sandbox payment provider: refunds, at most one per idempotency key, amounts as decimal strings."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from domain.money import has_valid_precision, quantize
from sandbox.common import create_once, get_faults, get_store
from sandbox.errors import SandboxError

TABLE = "refunds"

log = structlog.get_logger()
router = APIRouter(prefix="/payments", tags=["payments"])


class RefundIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    payment_id: str = Field(min_length=1, max_length=255)
    provider_ref: str = Field(max_length=255)
    amount: Any  # checked by hand so a float or a bad string gets the "invalid_amount" code
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    reference: str = Field(min_length=1, max_length=255)


def parse_amount(value: Any, currency: str) -> Decimal:
    """A positive decimal string with at most the currency's minor digits; never a JSON number."""
    if not isinstance(value, str) or not re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        message = f'amount must be a positive decimal string such as "19.99", got {value!r}'
        raise SandboxError(422, "invalid_amount", message)
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise SandboxError(422, "invalid_amount", f"{value!r} is not a decimal amount") from None
    if amount <= 0:
        raise SandboxError(422, "invalid_amount", f"amount must be positive, got {value!r}")
    if not has_valid_precision(amount, currency):
        raise SandboxError(422, "invalid_amount", f"{value!r} has more decimals than {currency} allows")
    return quantize(amount, currency)


@router.post("/refunds", status_code=201, response_model=None)
async def create_refund(body: RefundIn, request: Request) -> dict[str, Any] | JSONResponse:
    currency = body.currency.upper()
    amount = parse_amount(body.amount, currency)
    await get_faults(request).apply("payments.refund")
    fields = {
        "status": "succeeded",
        "amount": format(amount, "f"),
        "currency": currency,
        "payment_id": body.payment_id,
        "provider_ref": body.provider_ref,
        "reference": body.reference,
    }
    refund, created = create_once(get_store(request), TABLE, body.idempotency_key, fields, "re")
    log.info(
        "sandbox_refund_succeeded" if created else "sandbox_refund_replayed",
        reference=body.reference,
        refund_id=refund["refund_id"],
        amount=refund["amount"],
        currency=currency,
    )
    return refund if created else JSONResponse(refund, status_code=200)


@router.get("/refunds")
async def list_refunds(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records(TABLE, reference)}


class StoreCreditIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    customer_id: str = Field(min_length=1, max_length=255)
    amount: Any
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    reference: str = Field(min_length=1, max_length=255)


@router.post("/store-credits", status_code=201, response_model=None)
async def issue_store_credit(body: StoreCreditIn, request: Request) -> dict[str, Any] | JSONResponse:
    """Credit the customer's store balance (gift-card style), once per idempotency key."""
    currency = body.currency.upper()
    amount = parse_amount(body.amount, currency)
    await get_faults(request).apply("payments.store_credit")
    fields = {
        "customer_id": body.customer_id,
        "amount": format(amount, "f"),
        "currency": currency,
        "reference": body.reference,
        "status": "issued",
    }
    credit, created = create_once(get_store(request), "store_credits", body.idempotency_key, fields, "sc")
    return credit if created else JSONResponse(credit, status_code=200)


@router.get("/store-credits")
async def list_store_credits(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records("store_credits", reference)}
