"""Carrier connector: the pickup slots and drop-off counters it offers for an address; book a return
shipment (pickup, drop-off with a token to scan at the counter, or mail label) and cancel it; send a
parcel back to the customer (``direction="to_customer"``, a line inspection returns to them)."""

from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode

import httpx
from pydantic import BaseModel, Field

from connectors.http import PartnerHttp, parse_result
from domain.orders import Address
from domain.pickup_slots import PickupSlot
from domain.returns import DropOffPoint

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
    drop_off_token: str | None = Field(None, description="A drop-off's code, scanned at the counter.")


class PickupSlots(BaseModel):
    items: list[PickupSlot]


class DropOffPoints(BaseModel):
    items: list[DropOffPoint]


class Carrier(Protocol):
    async def pickup_slots(self, address: Address) -> list[PickupSlot]: ...

    async def drop_off_points(self, address: Address) -> list[DropOffPoint]: ...

    async def create_shipment(self, request: ShipmentRequest) -> Shipment: ...

    async def cancel_shipment(self, tracking_number: str) -> None: ...


class HttpCarrier:
    """``GET {base}/carrier/pickup-slots`` and ``/drop-off-points`` (``?postal_code=&country=``),
    ``POST {base}/carrier/shipments`` and ``POST {base}/carrier/shipments/{tracking}/cancel``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("carrier", client, base_url)

    async def pickup_slots(self, address: Address) -> list[PickupSlot]:
        body = await self._http.call("GET", "/carrier/pickup-slots?" + _where(address))
        return parse_result("carrier", PickupSlots, body).items

    async def drop_off_points(self, address: Address) -> list[DropOffPoint]:
        body = await self._http.call("GET", "/carrier/drop-off-points?" + _where(address))
        return parse_result("carrier", DropOffPoints, body).items

    async def create_shipment(self, request: ShipmentRequest) -> Shipment:
        body = await self._http.call("POST", "/carrier/shipments", json=request.model_dump(mode="json"))
        return parse_result("carrier", Shipment, body)

    async def cancel_shipment(self, tracking_number: str) -> None:
        await self._http.call("POST", f"/carrier/shipments/{quote(tracking_number, safe='')}/cancel")


def _where(address: Address) -> str:
    return urlencode({"postal_code": address.postal_code, "country": address.country})
