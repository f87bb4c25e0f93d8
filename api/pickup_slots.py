"""Pickup slots the carrier offers for an order's address, and refusing a slot that is not one.

Preview and create both check the slot (``api/judging.py``) before the policy decides, as the exchange
catalog is asked, and so does rebooking a missed pickup (``api/attention.py``): a carrier that cannot
answer is a 503 with Retry-After, since nothing is booked against a slot nobody confirmed.
"""

from datetime import datetime

from fastapi import Request

from api.problems import Problem
from connectors.carrier import Carrier
from connectors.errors import PartnerError
from domain.attention import Resolution
from domain.orders import Order
from domain.pickup_slots import PickupSlot, slot_problem
from domain.returns import ReturnRequest
from store import orders, returns
from store.db import Database

CARRIER_RETRY_AFTER_SECONDS = 5
SLOT_FIELD = "logistics.pickup_slot"
REBOOKED_SLOT_FIELD = "pickup_slot"  # of a resolution's body


async def offered_slots(carrier: Carrier, order: Order) -> list[PickupSlot]:
    """The carrier's slots for the order's shipping address (none without an address)."""
    if order.shipping_address is None:
        return []
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
    _refuse_unavailable(SLOT_FIELD, slot, await offered_slots(request.app.state.carrier, order), now)


async def refuse_unoffered_rebooking(
    carrier: Carrier, database: Database, return_id: str, resolution: Resolution, now: datetime
) -> None:
    """A 422 on ``pickup_slot`` when a missed pickup is rebooked for a slot the carrier does not offer now
    (a rebooking with no slot is the workflow's to refuse)."""
    slot = resolution.pickup_slot
    if resolution.action != "rebook_pickup" or slot is None:
        return
    async with database.sessions() as session:
        view = await returns.get_return(session, return_id)
        found = await orders.get_order(session, view.order_id) if view is not None else None
    if found is not None:
        _refuse_unavailable(REBOOKED_SLOT_FIELD, slot, await offered_slots(carrier, found[0]), now)


def _refuse_unavailable(field: str, slot: PickupSlot, offered: list[PickupSlot], now: datetime) -> None:
    problem = slot_problem(slot, offered, now)
    if problem is not None:
        raise Problem(422, problem, [{"field": field, "code": "pickup_slot_unavailable", "message": problem}])
