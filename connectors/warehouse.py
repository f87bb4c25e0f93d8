"""Warehouse connector: tell the warehouse what came back and what happens to each line."""

from typing import Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from connectors.http import PartnerHttp, parse_result


class IntakeLine(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    disposition: str = Field(min_length=1, description="restock, refurbish, liquidate, dispose, return_to_customer")
    condition: str = Field(min_length=1, description="as_new, opened, damaged, not_as_described, missing")


class IntakeRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="The return's id.")
    lines: list[IntakeLine] = Field(min_length=1)


class IntakeResult(BaseModel):
    intake_id: str


class InterceptRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="The return's id.")
    order_id: str


class Reservation(BaseModel):
    reservation_id: str
    tracking_number: str | None = None


class Warehouse(Protocol):
    async def intake(self, request: IntakeRequest) -> IntakeResult: ...

    async def intercept(self, request: InterceptRequest) -> None:
        """Stop an unshipped order; ``PartnerRejected`` when it has already left."""

    async def reserve(self, idempotency_key: str, reference: str, sku: str, quantity: int) -> Reservation:
        """Hold units for an exchange; ``PartnerRejected("out_of_stock")`` when short."""

    async def ship_reservation(self, reservation_id: str) -> Reservation: ...

    async def release_reservation(self, reservation_id: str) -> None: ...


class HttpWarehouse:
    """``POST {base}/warehouse/intakes``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("warehouse", client, base_url)

    async def intake(self, request: IntakeRequest) -> IntakeResult:
        body = await self._http.call("POST", "/warehouse/intakes", json=request.model_dump(mode="json"))
        return parse_result("warehouse", IntakeResult, body)

    async def intercept(self, request: InterceptRequest) -> None:
        await self._http.call("POST", "/warehouse/intercepts", json=request.model_dump(mode="json"))

    async def reserve(self, idempotency_key: str, reference: str, sku: str, quantity: int) -> Reservation:
        body = await self._http.call(
            "POST",
            "/warehouse/reservations",
            json={"idempotency_key": idempotency_key, "reference": reference, "sku": sku, "quantity": quantity},
        )
        return parse_result("warehouse", Reservation, body)

    async def ship_reservation(self, reservation_id: str) -> Reservation:
        body = await self._http.call("POST", f"/warehouse/reservations/{quote(reservation_id, safe='')}/ship")
        return parse_result("warehouse", Reservation, body)

    async def release_reservation(self, reservation_id: str) -> None:
        await self._http.call("POST", f"/warehouse/reservations/{quote(reservation_id, safe='')}/release")
