"""Sandbox payments for exchanges: payment requests (collect a price difference) and authorization holds
(authorize, capture, void), each at most once per idempotency key."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.common import create_once, get_faults, get_store, utc_now
from sandbox.errors import SandboxError, not_found
from sandbox.payments import parse_amount

REQUESTS = "payment_requests"
HOLDS = "authorizations"
router = APIRouter(prefix="/payments", tags=["payments"])


class PaymentRequestIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    customer_id: str = Field(min_length=1, max_length=255)
    amount: Any
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    reference: str = Field(min_length=1, max_length=255)


class AuthorizationIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    payment_id: str = Field(min_length=1, max_length=255)
    provider_ref: str = Field("", max_length=255)
    amount: Any
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    reference: str = Field(min_length=1, max_length=255)


class SettleIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)


@router.post("/payment-requests", status_code=201, response_model=None)
async def request_payment(body: PaymentRequestIn, request: Request) -> dict[str, Any] | JSONResponse:
    """Ask the customer to pay (a link they follow); the sandbox records it as requested."""
    currency = body.currency.upper()
    amount = parse_amount(body.amount, currency)
    await get_faults(request).apply("payments.payment_request")
    fields = {
        "customer_id": body.customer_id,
        "amount": format(amount, "f"),
        "currency": currency,
        "reference": body.reference,
        "status": "requested",
    }
    record, created = create_once(get_store(request), REQUESTS, body.idempotency_key, fields, "pr")
    return record if created else JSONResponse(record, status_code=200)


@router.get("/payment-requests")
async def list_payment_requests(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records(REQUESTS, reference)}


@router.post("/authorizations", status_code=201, response_model=None)
async def authorize(body: AuthorizationIn, request: Request) -> dict[str, Any] | JSONResponse:
    """Hold ``amount`` on the customer's payment method."""
    currency = body.currency.upper()
    amount = parse_amount(body.amount, currency)
    await get_faults(request).apply("payments.authorize")
    fields = {
        "payment_id": body.payment_id,
        "amount": format(amount, "f"),
        "currency": currency,
        "reference": body.reference,
    }
    store = get_store(request)
    with store.transaction():
        record, created = create_once(store, HOLDS, body.idempotency_key, fields, "auth")
        if created:
            record.update(status="authorized", settlements={})
            store.update(HOLDS, record["authorization_id"], record)
    return record if created else JSONResponse(record, status_code=200)


async def _settle(authorization_id: str, body: SettleIn, request: Request, to: str) -> dict[str, Any]:
    await get_faults(request).apply("payments.capture" if to == "captured" else "payments.void")
    store = get_store(request)
    with store.transaction():
        record = store.get(HOLDS, authorization_id)
        if record is None:
            raise not_found(f"authorization {authorization_id!r}")
        if record["status"] == to and record["settlements"].get(to) == body.idempotency_key:
            return record  # the same call again
        if record["status"] != "authorized":
            raise SandboxError(409, "authorization_settled", f"the authorization is already {record['status']}")
        record.update(status=to)
        record["settlements"][to] = body.idempotency_key
        record[f"{to}_at"] = utc_now()
        store.update(HOLDS, authorization_id, record)
    return record


@router.post("/authorizations/{authorization_id}/capture")
async def capture(authorization_id: str, body: SettleIn, request: Request) -> dict[str, Any]:
    return await _settle(authorization_id, body, request, "captured")


@router.post("/authorizations/{authorization_id}/void")
async def void(authorization_id: str, body: SettleIn, request: Request) -> dict[str, Any]:
    return await _settle(authorization_id, body, request, "voided")


@router.get("/authorizations")
async def list_authorizations(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records(HOLDS, reference)}
