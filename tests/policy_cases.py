"""Small, pure builders for domain tests: one order, one request, one verdict.

Nothing here touches a database, a clock or Temporal; ``NOW`` is fixed so that
window boundaries can be hit to the second.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.evaluation import Evaluation, evaluate
from domain.orders import Order
from domain.policy import DEFAULT_POLICY, Policy
from domain.returns import ReturnRequest
from domain.risk import Level, RiskAssessment

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
EVIDENCE = ["https://example.com/photo.jpg"]


def item(
    line_id: str = "L1",
    *,
    category: str = "apparel",
    quantity: int = 3,
    unit_price: str = "20.00",
    final_sale: bool = False,
) -> dict[str, Any]:
    """One order line as the order system sends it."""
    return {
        "line_id": line_id,
        "sku": f"SKU-{line_id}",
        "product_id": f"P-{line_id}",
        "title": f"Item {line_id}",
        "category": category,
        "kind": "physical",
        "quantity": quantity,
        "unit_price": unit_price,
        "final_sale": final_sale,
    }


def make_order(
    *lines: dict[str, Any],
    currency: str = "USD",
    delivered_ago: timedelta | None = 2 * DAY,
    placed_ago: timedelta = 40 * DAY,
    payments: list[dict[str, Any]] | None = None,
) -> Order:
    """An order delivered ``delivered_ago`` before ``NOW`` (``None``: shipped, not delivered yet)."""
    delivered = delivered_ago is not None
    return Order.model_validate(
        {
            "order_id": "O1",
            "customer_id": "C1",
            "currency": currency,
            "placed_at": (NOW - placed_ago).isoformat(),
            "fulfillment_status": "delivered" if delivered else "shipped",
            "delivered_at": (NOW - delivered_ago).isoformat() if delivered_ago is not None else None,
            "lines": list(lines) or [item()],
            "payments": payments or [],
        }
    )


def want(
    line_id: str = "L1", quantity: int = 1, reason: str = "defective", evidence: list[str] | None = None
) -> dict[str, Any]:
    """One requested line."""
    return {"line_id": line_id, "quantity": quantity, "reason": reason, "evidence": evidence or []}


def make_request(
    *lines: dict[str, Any],
    method: str = "mail",
    pickup_slot: dict[str, str] | None = None,
    resolution: str = "refund",
    override_reason: str | None = None,
) -> ReturnRequest:
    """A return request; ``override_reason`` makes it a staff override."""
    logistics: dict[str, Any] = {"method": method}
    if pickup_slot is not None:
        logistics["pickup_slot"] = pickup_slot
    body: dict[str, Any] = {
        "order_id": "O1",
        "lines": list(lines) or [want()],
        "resolution": resolution,
        "logistics": logistics,
    }
    if override_reason is not None:
        body |= {"override": True, "override_reason": override_reason}
    return ReturnRequest.model_validate(body)


def risk_of(level: Level, *reasons: str, serial_returner: bool = False) -> RiskAssessment:
    return RiskAssessment(level=level, reasons=list(reasons), serial_returner=serial_returner)


def make_policy(**overrides: Any) -> Policy:
    """The default policy with some fields changed, as a merchant would edit it."""
    return Policy.model_validate({**DEFAULT_POLICY.model_dump(mode="json"), **overrides})


def judge_one(
    *,
    category: str = "apparel",
    unit_price: str = "20.00",
    quantity: int = 1,
    reason: str = "defective",
    evidence: list[str] | None = None,
    delivered_ago: timedelta | None = 2 * DAY,
    placed_ago: timedelta = 40 * DAY,
    final_sale: bool = False,
    currency: str = "USD",
    policy: Policy = DEFAULT_POLICY,
    risk: Level | RiskAssessment = "low",
    method: str = "mail",
    override_reason: str | None = None,
) -> Evaluation:
    """Evaluate a return of ``quantity`` units of a single-line order."""
    order = make_order(
        item(category=category, quantity=max(quantity, 1), unit_price=unit_price, final_sale=final_sale),
        currency=currency,
        delivered_ago=delivered_ago,
        placed_ago=placed_ago,
    )
    request = make_request(
        want(quantity=quantity, reason=reason, evidence=evidence), method=method, override_reason=override_reason
    )
    return evaluate(order, request, policy, NOW, risk=risk_of(risk) if isinstance(risk, str) else risk)


def fee_total(evaluation: Evaluation, kind: str | None = None) -> Decimal:
    return sum((fee.amount for fee in evaluation.fees if kind is None or fee.kind == kind), Decimal(0))
