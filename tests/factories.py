"""Builders for orders and return requests, with sensible defaults a test overrides."""

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.orders import Order, OrderIn
from domain.policy import DEFAULT_POLICY, Policy
from domain.returns import Decision, Logistics, Refund, ReturnLine, ReturnRequest, ReturnView, Status, TimelineEntry
from domain.risk import RiskAssessment
from messages.returns import CURRENT_SHAPE, StartReturn
from store.db import Database
from store.orders import upsert_order

NOW = datetime.now(UTC).replace(microsecond=0)


def order_body(**overrides: Any) -> dict[str, Any]:
    """A delivered two-line order as the order system would PUT it (JSON-ready)."""
    body: dict[str, Any] = {
        # A new customer each time: a shared one would soon look like a serial returner to the risk score.
        "customer_id": "C-" + secrets.token_hex(4),
        "currency": "USD",
        "placed_at": (NOW - timedelta(days=5)).isoformat(),
        "fulfillment_status": "delivered",
        "delivered_at": (NOW - timedelta(days=2)).isoformat(),
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
                "final_sale": False,
            },
            {
                "line_id": "L2",
                "sku": "MUG-01",
                "product_id": "MUG",
                "title": "Mug",
                "category": "home",
                "kind": "physical",
                "quantity": 1,
                "unit_price": "12.50",
                "final_sale": True,
            },
        ],
        "payments": [{"payment_id": "p1", "method": "card", "amount": "52.48", "provider_ref": "ch_1"}],
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "1 Analytical St",
            "city": "London",
            "postal_code": "N1 1AA",
            "country": "GB",
            "phone": "+44 20 0000 0000",
        },
    }
    body.update(overrides)
    return body


def return_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": "O1",
        "lines": [{"line_id": "L1", "quantity": 1, "reason": "defective"}],
        "resolution": "refund",
        "logistics": {"method": "mail"},
        "channel": "api",
    }
    body.update(overrides)
    return body


def new_order_id() -> str:
    return "O-" + secrets.token_hex(6)


async def stored_order(database: Database, order_id: str | None = None, **overrides: Any) -> Order:
    order_id = order_id or new_order_id()
    order_in = OrderIn.model_validate(order_body(**overrides))
    async with database.transaction() as session:
        await upsert_order(session, order_id, order_in)
    return Order(order_id=order_id, **order_in.model_dump())


def start_for(
    order: Order,
    policy: Policy = DEFAULT_POLICY,
    requested_at: datetime | None = None,
    risk: RiskAssessment | None = None,
    **request: Any,
) -> StartReturn:
    """What ``POST /v1/returns`` would start, for a workflow test that starts it directly."""
    return StartReturn(
        return_id="ret_" + secrets.token_hex(10),
        order=order.model_copy(update={"shipping_address": None}),
        request=ReturnRequest.model_validate(return_body(order_id=order.order_id, **request)),
        policy=policy,
        policy_version=1,
        requested_at=requested_at or NOW,
        risk=risk or RiskAssessment(),
        shape=CURRENT_SHAPE,
    )


# A fixed start for views built step by step.
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def view_through(*steps: Status, method: str = "mail", **fields: Any) -> ReturnView:
    """A return whose timeline went through ``steps`` an hour apart; its status is the last one."""
    timeline = [TimelineEntry(status=step, at=T0 + timedelta(hours=i)) for i, step in enumerate(steps)]
    return ReturnView(
        id="ret_steps",
        order_id="O-steps",
        customer_id="C-steps",
        status=steps[-1],
        lines=[
            ReturnLine(line_id="L1", quantity=1, reason="defective", liability="merchant", unit_price=Decimal("19.99"))
        ],
        decision=Decision(outcome="auto_approved"),
        logistics=Logistics(method=method),  # type: ignore[arg-type]
        refund=Refund(amount=Decimal("19.99"), currency="USD"),
        timeline=timeline,
        policy_version=1,
        created_at=T0,
        updated_at=timeline[-1].at,
        **fields,
    )
