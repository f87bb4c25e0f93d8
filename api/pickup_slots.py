"""Pickup slots the carrier offers for an order's address, and refusing a return whose slot is not one.

Preview and create both check the slot (``api/judging.py``) before the policy decides, as the exchange
catalog is asked: a carrier that cannot answer is a 503 with Retry-After, since nothing is booked
against a slot nobody confirmed.
"""

from datetime import datetime

from fastapi import Request

from api.problems import Problem
from connectors.carrier import Carrier
from connectors.errors import PartnerError
from domain.orders import Order
from domain.pickup_slots import PickupSlot, slot_problem
from domain.returns import ReturnRequest

CARRIER_RETRY_AFTER_SECONDS = 5
SLOT_FIELD = "logistics.pickup_slot"


async def offered_slots(request: Request, order: Order) -> list[PickupSlot]:
    """The carrier's slots for the order's shipping address (none without an address)."""
    if order.shipping_address is None:
        return []
    carrier: Carrier = request.app.state.carrier
    try:
        return await carrier.pickup_slots(order.shipping_address)
    except PartnerError as error:
        raise Problem(
            503,
            f"the carrier did not say which pickup slots it offers ({error}); try again",
            headers={"Retry-After": str(CARRIER_RETRY_AFTER_SECONDS)},
        ) from None


async def refuse_unoffered_slot(request: Request, body: ReturnRequest, order: Order, now: datetime) -> None:
    """A 422 on ``logistics.pickup_slot`` when the requested slot is past or not offered."""
    slot = body.logistics.pickup_slot
    if slot is None or body.logistics.method != "pickup":
        return
    problem = slot_problem(slot, await offered_slots(request, order), now)
    if problem is not None:
        raise Problem(422, problem, [{"field": SLOT_FIELD, "code": "pickup_slot_unavailable", "message": problem}])
