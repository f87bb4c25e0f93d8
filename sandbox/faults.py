"""Fault injection, like a payment provider's test mode.

``POST /sandbox/faults`` queues a fault for one operation; the next ``times`` calls
to that operation meet it (first queued, first served). A faulted call answers
before anything is recorded, so a 503 never leaves a refund behind. Faults live
in memory only: a restart clears them, as does ``POST /sandbox/reset``.
"""

import asyncio
import threading
from typing import Literal

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from sandbox.errors import SandboxError

Operation = Literal[
    "carrier.create_shipment",
    "carrier.cancel_shipment",
    "carrier.pickup_slots",
    "carrier.drop_off_points",
    "carrier.drop_off",
    "payments.refund",
    "payments.store_credit",
    "warehouse.intake",
    "warehouse.intercept",
    "warehouse.reserve",
    "warehouse.ship_reservation",
    "notifications.send",
    "fulfilment.revoke",
    "catalog.get_variant",
    "payments.payment_request",
    "payments.authorize",
    "payments.capture",
    "payments.void",
    "promotions.issue",
]
Mode = Literal["unavailable", "decline", "slow"]

log = structlog.get_logger()


class FaultSpec(BaseModel):
    operation: Operation
    mode: Mode
    times: int = Field(1, ge=1, le=1000)
    delay_seconds: float = Field(1.0, ge=0, le=120)


class Fault(FaultSpec):
    fault_id: int
    remaining: int


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []
        self._next_id = 1

    def add(self, spec: FaultSpec) -> Fault:
        with self._lock:
            fault = Fault(**spec.model_dump(), fault_id=self._next_id, remaining=spec.times)
            self._next_id += 1
            self._queue.append(fault)
        return fault

    def pending(self) -> list[Fault]:
        with self._lock:
            return [fault.model_copy() for fault in self._queue]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, operation: str) -> Fault | None:
        """Consume one use of the first fault queued for ``operation``, if any."""
        with self._lock:
            for fault in self._queue:
                if fault.operation == operation:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._queue.remove(fault)
                    return fault.model_copy()
        return None

    async def apply(self, operation: str) -> None:
        """Meet the next fault for ``operation``: raise its error, or sleep for ``slow`` and carry on."""
        fault = self.take(operation)
        if fault is None:
            return
        log.info("sandbox_fault_injected", operation=operation, mode=fault.mode, fault_id=fault.fault_id)
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay_seconds)
        elif fault.mode == "unavailable":
            raise SandboxError(503, "unavailable", f"{operation} is unavailable (injected fault)")
        elif operation == "payments.refund":
            raise SandboxError(402, "card_declined", "the card issuer declined the refund (injected fault)")
        else:
            raise SandboxError(422, "rejected", f"{operation} was rejected (injected fault)")


router = APIRouter(prefix="/sandbox", tags=["sandbox"])


@router.post("/faults", status_code=201)
async def add_fault(spec: FaultSpec, request: Request) -> Fault:
    faults: Faults = request.app.state.faults
    fault = faults.add(spec)
    log.info("sandbox_fault_added", **spec.model_dump(), fault_id=fault.fault_id)
    return fault


@router.get("/faults")
async def list_faults(request: Request) -> dict[str, list[Fault]]:
    faults: Faults = request.app.state.faults
    return {"items": faults.pending()}


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, str]:
    request.app.state.faults.clear()
    return {"status": "cleared"}


@router.post("/reset")
async def reset(request: Request) -> dict[str, str]:
    request.app.state.faults.clear()
    request.app.state.store.reset()
    log.info("sandbox_reset")
    return {"status": "reset"}
