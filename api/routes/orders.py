"""``PUT/GET /v1/orders/{order_id}``: orders synced from the order system."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response
from fastapi.openapi.models import Example

from api.auth import Caller, allow
from api.deps import Session
from api.problems import Problem
from domain.orders import Order, OrderIn, OrderLine, returnable_quantity
from store import orders

router = APIRouter(prefix="/v1/orders", tags=["orders"])
# The README's order (its walk-through sends it with the time of the day).
ORDER_EXAMPLES: dict[str, Example] = {
    "delivered": {
        "summary": "A delivered order of two tees, paid by card",
        "value": {
            "customer_id": "C42",
            "currency": "USD",
            "placed_at": "2026-01-10T09:30:00Z",
            "fulfillment_status": "delivered",
            "delivered_at": "2026-01-12T15:00:00Z",
            "lines": [
                {
                    "line_id": "L1",
                    "sku": "TEE-RED-M",
                    "product_id": "TEE",
                    "title": "Red tee",
                    "category": "apparel",
                    "kind": "physical",
                    "quantity": 2,
                    "unit_price": "19.99",
                }
            ],
            "payments": [{"payment_id": "p1", "method": "card", "amount": "39.98", "provider_ref": "ch_1"}],
        },
    }
}
OrderId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


class OrderLineOut(OrderLine):
    returnable_quantity: int


class OrderOut(Order):
    lines: list[OrderLineOut]  # type: ignore[assignment]


def _present(order: Order, claimed: dict[str, int]) -> OrderOut:
    data = order.model_dump()
    for line, dumped in zip(order.lines, data["lines"], strict=True):
        dumped["returnable_quantity"] = returnable_quantity(line, claimed)
    return OrderOut.model_validate(data)


@router.put(
    "/{order_id}",
    response_model=OrderOut,
    dependencies=[Depends(allow("service"))],
    responses={201: {"description": "Created", "model": OrderOut}, 200: {"description": "Replaced"}},
)
async def put_order(
    order_id: OrderId,
    body: Annotated[OrderIn, Body(openapi_examples=ORDER_EXAMPLES)],
    session: Session,
    response: Response,
) -> OrderOut:
    """Insert or replace an order. Lines that returns already hold cannot shrink below what they hold (409)."""
    try:
        created = await orders.upsert_order(session, order_id, body)
    except orders.OrderConflict as conflict:
        raise Problem(409, str(conflict)) from None
    await session.flush()
    found = await orders.get_order(session, order_id)
    assert found is not None
    response.status_code = 201 if created else 200
    return _present(*found)


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(
    order_id: OrderId, session: Session, caller: Annotated[Caller, Depends(allow("service", "operator", "customer"))]
) -> OrderOut:
    """A customer may read its own orders only (another's is a 404)."""
    found = await orders.get_order(session, order_id)
    if found is None or not caller.owns(found[0].customer_id):
        raise Problem(404, f"no order {order_id}")
    return _present(*found)
