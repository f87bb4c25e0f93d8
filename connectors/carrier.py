"""Carrier connector: book a return shipment (pickup, drop-off or mail label) and cancel it; send a parcel
back to the customer (``direction="to_customer"``, a line inspection returns to them)."""

from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from connectors.http import PartnerHttp, parse_result

ShippingMethod = Literal["pickup", "drop_off", "mail"]


class ShipmentRequest(BaseModel):
    idempotency_key: str = Field(min_length=1)
    reference: str = Field(min_length=1, description="The return's id.")
    method: ShippingMethod
    pickup_slot: dict[str, Any] | None = Field(None, description='{"start": ISO datetime, "end": ISO datetime}')
    from_address: dict[str, Any] | None = None
    direction: Literal["to_merchant", "to_customer"] = "to_merchant"
    to_address: dict[str, Any] | None = Field(None, description="Where a parcel to the customer goes.")
    items: list[dict[str, Any]] = Field(default_factory=list, description='[{"sku", "quantity"}] in the parcel')


class Shipment(BaseModel):
    carrier: str
    tracking_number: str
    label_url: str


class Carrier(Protocol):
    async def create_shipment(self, request: ShipmentRequest) -> Shipment: ...

    async def cancel_shipment(self, tracking_number: str) -> None: ...


class HttpCarrier:
    """``POST {base}/carrier/shipments`` and ``POST {base}/carrier/shipments/{tracking}/cancel``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("carrier", client, base_url)

    async def create_shipment(self, request: ShipmentRequest) -> Shipment:
        body = await self._http.call("POST", "/carrier/shipments", json=request.model_dump(mode="json"))
        return parse_result("carrier", Shipment, body)

    async def cancel_shipment(self, tracking_number: str) -> None:
        await self._http.call("POST", f"/carrier/shipments/{quote(tracking_number, safe='')}/cancel")
