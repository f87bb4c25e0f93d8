"""Sandbox warehouse reservations: hold a replacement for an exchange, then ship or release it."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.common import get_faults, get_store, new_id, random_code, utc_now
from sandbox.errors import SandboxError, key_reused, not_found

TABLE = "reservations"
router = APIRouter(prefix="/warehouse", tags=["warehouse"])


class StockIn(BaseModel):
    quantity: int = Field(ge=1, le=1_000_000)


class ReservationIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    reference: str = Field(min_length=1, max_length=255)
    sku: str = Field(min_length=1, max_length=128)
    quantity: int = Field(ge=1, le=100_000)


@router.post("/stock/{sku}", status_code=201)
async def add_stock(sku: str, body: StockIn, request: Request) -> dict[str, int]:
    """Put units on the shelf (for demos and tests)."""
    get_store(request).add_stock(sku, body.quantity)
    return get_store(request).stock()


@router.post("/reservations", status_code=201, response_model=None)
async def reserve(body: ReservationIn, request: Request) -> dict[str, Any] | JSONResponse:
    """Hold units for an exchange; 409 ``out_of_stock`` when the shelf is short."""
    await get_faults(request).apply("warehouse.reserve")
    store = get_store(request)
    with store.transaction():
        existing = store.get_by_key(TABLE, body.idempotency_key)
        if existing is not None:
            if (existing["sku"], existing["quantity"], existing["reference"]) != (
                body.sku,
                body.quantity,
                body.reference,
            ):
                raise key_reused(body.idempotency_key)
            return JSONResponse(existing, status_code=200)
        if not store.take_stock(body.sku, body.quantity):
            raise SandboxError(409, "out_of_stock", f"not enough {body.sku} on the shelf")
        reservation_id = new_id("rsv")
        reservation: dict[str, Any] = {
            "reservation_id": reservation_id,
            "reference": body.reference,
            "sku": body.sku,
            "quantity": body.quantity,
            "status": "reserved",
            "idempotency_key": body.idempotency_key,
            "tracking_number": None,
            "created_at": utc_now(),
        }
        store.insert(TABLE, reservation_id, reservation)
    return reservation


def _change(request: Request, reservation_id: str, to: str) -> dict[str, Any]:
    """Move a reservation to ``shipped`` or ``released``; repeating the same move is harmless."""
    store = get_store(request)
    with store.transaction():
        reservation = store.get(TABLE, reservation_id)
        if reservation is None:
            raise not_found(f"reservation {reservation_id}")
        if reservation["status"] == to:
            return reservation
        if reservation["status"] != "reserved":
            raise SandboxError(409, "conflict", f"reservation {reservation_id} is already {reservation['status']}")
        reservation["status"] = to
        if to == "released":
            store.add_stock(reservation["sku"], reservation["quantity"])
        else:
            reservation["tracking_number"] = "SBX" + random_code(12)
        store.update(TABLE, reservation_id, reservation)
    return reservation


@router.post("/reservations/{reservation_id}/ship")
async def ship(reservation_id: str, request: Request) -> dict[str, Any]:
    await get_faults(request).apply("warehouse.ship_reservation")
    return _change(request, reservation_id, "shipped")


@router.post("/reservations/{reservation_id}/release")
async def release(reservation_id: str, request: Request) -> dict[str, Any]:
    return _change(request, reservation_id, "released")


@router.get("/reservations")
async def list_reservations(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records(TABLE, reference)}
