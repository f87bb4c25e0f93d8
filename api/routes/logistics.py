"""How a parcel leaves the customer: ``GET /v1/pickup-slots`` (the carrier's slots for an order's
address) and ``GET /v1/drop-off-codes/{token}.png`` (a drop-off return's QR code)."""

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from api.auth import Caller, allow
from api.deps import Session
from api.pickup_slots import offered_slots
from api.problems import Problem
from domain.drop_off_codes import TOKEN_PATTERN
from domain.pickup_slots import PickupSlot
from store import orders

router = APIRouter(tags=["logistics"])

# Modules big enough for a counter's scanner reading a phone's screen, with the standard quiet zone.
QR_SCALE = 8
QR_BORDER = 4


class PickupSlots(BaseModel):
    items: list[PickupSlot]


@router.get("/v1/pickup-slots", response_model=PickupSlots)
async def pickup_slots(
    request: Request,
    session: Session,
    caller: Annotated[Caller, Depends(allow("service", "customer"))],
    order_id: Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")],
) -> PickupSlots:
    """The windows the carrier can collect a return of this order in (a customer: its own orders only).
    A pickup return's ``logistics.pickup_slot`` must be one of them. A 503 with Retry-After when the
    carrier does not answer."""
    found = await orders.get_order(session, order_id)
    if found is None or not caller.owns(found[0].customer_id):
        raise Problem(404, f"no order {order_id}")
    return PickupSlots(items=await offered_slots(request.app.state.carrier, found[0]))


# An image a Return links to (``logistics.qr_code_url``), not an operation of the API: left out of the OpenAPI
# document, as the console's and the tracking page's HTML are (generated clients have no use for a PNG).
@router.get("/v1/drop-off-codes/{token}.png", response_class=Response, include_in_schema=False)
async def drop_off_code(token: Annotated[str, Path(pattern=TOKEN_PATTERN.pattern)]) -> Response:
    """A drop-off return's QR code (its ``logistics.qr_code_url``), which the customer shows at a counter
    instead of a printed label. No credentials: the token in the path is the secret, and the image says
    nothing but that token."""
    image = io.BytesIO()
    segno.make(token, error="m").save(image, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return Response(image.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})
