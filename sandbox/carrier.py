"""Sandbox carrier ("sandbox-post"): offers pickup slots, books pickups / drop-offs / mail labels and
cancels them. A drop-off booking carries a token the customer's QR code encodes (``carrier_counters.py``
plays the counter that scans it)."""

import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from sandbox.common import get_faults, get_store, new_id, random_code, utc_now
from sandbox.errors import key_reused, not_found

CARRIER = "sandbox-post"
TABLE = "shipments"
DROP_OFF_TOKENS = "drop_off_tokens"
# The slots offered: the next working days, two 4-hour windows each (UTC), none in the past.
SLOT_DAYS = 5
SLOT_WINDOWS = ((time(9), time(13)), (time(13), time(17)))

log = structlog.get_logger()
router = APIRouter(prefix="/carrier", tags=["carrier"])


class PickupSlot(BaseModel):
    start: str = Field(min_length=1)
    end: str = Field(min_length=1)


class ShipmentIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    reference: str = Field(min_length=1, max_length=255)
    method: Literal["pickup", "drop_off", "mail"]
    pickup_slot: PickupSlot | None = None
    from_address: dict[str, Any] | None = None
    direction: Literal["to_merchant", "to_customer"] = "to_merchant"
    to_address: dict[str, Any] | None = None
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


def _render(request: Request, shipment: dict[str, Any]) -> dict[str, Any]:
    # The label URL is built per request so it stays right if the service moves to another port.
    label_url = str(request.url_for("get_label", tracking_number=shipment["tracking_number"]))
    return {**shipment, "label_url": label_url}


@router.post("/shipments", status_code=201, response_model=None)
async def create_shipment(body: ShipmentIn, request: Request) -> dict[str, Any] | JSONResponse:
    await get_faults(request).apply("carrier.create_shipment")
    store = get_store(request)
    with store.transaction():
        existing = store.get_by_key(TABLE, body.idempotency_key)
        if existing is not None:
            if (
                existing["reference"] != body.reference
                or existing["method"] != body.method
                or existing.get("direction", "to_merchant") != body.direction
            ):
                raise key_reused(body.idempotency_key)
            return JSONResponse(_render(request, existing), status_code=200)
        tracking_number = "SBX" + random_code(12)
        while store.get(TABLE, tracking_number) is not None:
            tracking_number = "SBX" + random_code(12)
        shipment: dict[str, Any] = {
            "shipment_id": new_id("shp"),
            "carrier": CARRIER,
            "tracking_number": tracking_number,
            "status": "booked",
            "reference": body.reference,
            "method": body.method,
            "pickup_slot": body.pickup_slot.model_dump() if body.pickup_slot else None,
            "from_address": body.from_address,
            "direction": body.direction,
            "to_address": body.to_address,
            "items": body.items,
            "drop_off_token": secrets.token_urlsafe(24) if body.method == "drop_off" else None,
            "idempotency_key": body.idempotency_key,
            "created_at": utc_now(),
            "canceled_at": None,
        }
        store.insert(TABLE, tracking_number, shipment)
        if shipment["drop_off_token"]:
            store.insert(DROP_OFF_TOKENS, shipment["drop_off_token"], {"tracking_number": tracking_number})
    log.info("sandbox_shipment_booked", reference=body.reference, tracking_number=tracking_number, method=body.method)
    return _render(request, shipment)


@router.post("/shipments/{tracking_number}/cancel")
async def cancel_shipment(tracking_number: str, request: Request) -> dict[str, Any]:
    await get_faults(request).apply("carrier.cancel_shipment")
    store = get_store(request)
    with store.transaction():
        shipment = store.get(TABLE, tracking_number)
        if shipment is None:
            raise not_found(f"shipment {tracking_number!r}")
        if shipment["status"] != "canceled":
            shipment.update(status="canceled", canceled_at=utc_now())
            store.update(TABLE, tracking_number, shipment)
            log.info("sandbox_shipment_canceled", reference=shipment["reference"], tracking_number=tracking_number)
    return _render(request, shipment)


def offered_slots(now: datetime) -> list[dict[str, str]]:
    """The next ``SLOT_DAYS`` working days' windows that have not started yet."""
    slots: list[dict[str, str]] = []
    day = now.date()
    while len(slots) < SLOT_DAYS * len(SLOT_WINDOWS):
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        for start, end in SLOT_WINDOWS:
            slots.append(
                {
                    "start": datetime.combine(day, start, UTC).isoformat().replace("+00:00", "Z"),
                    "end": datetime.combine(day, end, UTC).isoformat().replace("+00:00", "Z"),
                }
            )
    return slots


@router.get("/pickup-slots")
async def pickup_slots(request: Request, postal_code: str, country: str = "US") -> dict[str, list[dict[str, str]]]:
    """The windows a courier can come to ``postal_code`` (every address is served alike here)."""
    await get_faults(request).apply("carrier.pickup_slots")
    return {"items": offered_slots(datetime.now(UTC))}


@router.get("/shipments")
async def list_shipments(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": [_render(request, s) for s in get_store(request).records(TABLE, reference)]}


@router.get("/labels/{tracking_number}", name="get_label", response_class=PlainTextResponse)
async def get_label(tracking_number: str, request: Request) -> str:
    shipment = get_store(request).get(TABLE, tracking_number)
    if shipment is None:
        raise not_found(f"label {tracking_number!r}")
    return (
        f"{CARRIER} RETURN LABEL (sandbox, not valid for shipping)\n"
        f"Tracking: {shipment['tracking_number']}\n"
        f"Reference: {shipment['reference']}\n"
        f"Method: {shipment['method']}\n"
        f"Status: {shipment['status']}\n"
    )
