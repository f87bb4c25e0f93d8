"""Payments connector: refund (part of) a captured payment, at most once per idempotency key."""

from typing import Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, field_validator

from connectors.http import PartnerHttp, parse_result
from domain.money import Amount


class RefundRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    payment_id: str = Field(min_length=1)
    provider_ref: str
    amount: Amount = Field(gt=0, description='Sent as a decimal string ("19.99"), never a float.')
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code; sent upper-case.")
    reference: str = Field(min_length=1, description="The return's id.")

    @field_validator("currency")
    @classmethod
    def _upper(cls, currency: str) -> str:
        return currency.upper()


class RefundResult(BaseModel):
    refund_id: str
    status: str


class Payments(Protocol):
    async def refund(self, request: RefundRequest) -> RefundResult: ...

    async def issue_store_credit(self, request: "StoreCreditRequest") -> "StoreCreditResult": ...


class HttpPayments:
    """``POST {base}/payments/refunds``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("payments", client, base_url)

    async def refund(self, request: RefundRequest) -> RefundResult:
        body = await self._http.call("POST", "/payments/refunds", json=request.model_dump(mode="json"))
        return parse_result("payments", RefundResult, body)

    async def issue_store_credit(self, request: "StoreCreditRequest") -> "StoreCreditResult":
        body = await self._http.call("POST", "/payments/store-credits", json=request.model_dump(mode="json"))
        return parse_result("payments", StoreCreditResult, body)


class StoreCreditRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    amount: Amount = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, description="The return's id.")


class StoreCreditResult(BaseModel):
    store_credit_id: str


class PaymentRequestCall(BaseModel):
    """Ask the customer to pay ``amount`` (an exchange's dearer replacement), once per key."""

    idempotency_key: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    amount: Amount = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, description="The return's id.")


class PaymentRequestResult(BaseModel):
    payment_request_id: str
    status: str


class AuthorizationRequest(BaseModel):
    """Hold ``amount`` on the customer's payment (an instant exchange's replacement), once per key."""

    idempotency_key: str = Field(min_length=1)
    payment_id: str = Field(min_length=1)
    provider_ref: str = ""
    amount: Amount = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(min_length=1, description="The return's id.")


class AuthorizationResult(BaseModel):
    authorization_id: str
    status: str


class HttpExchangePayments:
    """``POST {base}/payments/payment-requests`` and ``/payments/authorizations[/{id}/capture|void]``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("payments", client, base_url)

    async def request_payment(self, request: PaymentRequestCall) -> PaymentRequestResult:
        body = await self._http.call("POST", "/payments/payment-requests", json=request.model_dump(mode="json"))
        return parse_result("payments", PaymentRequestResult, body)

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        body = await self._http.call("POST", "/payments/authorizations", json=request.model_dump(mode="json"))
        return parse_result("payments", AuthorizationResult, body)

    async def capture(self, authorization_id: str, idempotency_key: str) -> AuthorizationResult:
        return await self._settle(authorization_id, "capture", idempotency_key)

    async def void(self, authorization_id: str, idempotency_key: str) -> AuthorizationResult:
        return await self._settle(authorization_id, "void", idempotency_key)

    async def _settle(self, authorization_id: str, action: str, idempotency_key: str) -> AuthorizationResult:
        path = f"/payments/authorizations/{quote(authorization_id, safe='')}/{action}"
        body = await self._http.call("POST", path, json={"idempotency_key": idempotency_key})
        return parse_result("payments", AuthorizationResult, body)
