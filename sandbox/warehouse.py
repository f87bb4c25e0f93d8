"""Sandbox warehouse: records intakes of returned goods; ``restock`` lines go back into stock."""

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.common import create_once, get_faults, get_store

TABLE = "intakes"

log = structlog.get_logger()
router = APIRouter(prefix="/warehouse", tags=["warehouse"])


class IntakeLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=128)
    quantity: int = Field(ge=1, le=100_000)
    disposition: str = Field(min_length=1, max_length=64)
    condition: str = Field(min_length=1, max_length=64)


class IntakeIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=255)
    reference: str = Field(min_length=1, max_length=255)
    lines: list[IntakeLineIn] = Field(min_length=1, max_length=100)


@router.post("/intakes", status_code=201, response_model=None)
async def create_intake(body: IntakeIn, request: Request) -> dict[str, Any] | JSONResponse:
    await get_faults(request).apply("warehouse.intake")
    store = get_store(request)
    fields = {"reference": body.reference, "lines": [line.model_dump() for line in body.lines], "status": "received"}
    with store.transaction():
        intake, created = create_once(store, TABLE, body.idempotency_key, fields, "int")
        if created:
            for line in body.lines:
                if line.disposition == "restock":
                    store.add_stock(line.sku, line.quantity)
    if not created:
        return JSONResponse(intake, status_code=200)
    log.info("sandbox_intake_received", reference=body.reference, intake_id=intake["intake_id"], lines=len(body.lines))
    return intake


@router.get("/intakes")
async def list_intakes(request: Request, reference: str | None = None) -> dict[str, list[dict[str, Any]]]:
    return {"items": get_store(request).records(TABLE, reference)}


@router.get("/stock")
async def get_stock(request: Request) -> dict[str, int]:
    return get_store(request).stock()
