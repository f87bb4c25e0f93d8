"""What a refund gives back beyond the goods: the returned units' share of their line's tax, the original shipping.

Contract, "Orders: tax and shipping". All arithmetic is in integer minor units.
"""

from decimal import Decimal

from domain.money import from_minor_units, to_minor_units
from domain.orders import Order, OrderLine
from domain.returns import RefundItem


def tax_share(line: OrderLine, already: int, returning: int, currency: str) -> Decimal:
    """The tax refunded for ``returning`` units of ``line`` when ``already`` units went back before.

    ``floor(tax × (already + returning) / quantity) − floor(tax × already / quantity)`` in minor
    units: the shares of a line's successive returns telescope, so however the units are split
    over returns they add up to exactly the line's tax, never a cent more, and no share is negative.
    """
    tax, units = to_minor_units(line.tax, currency), line.quantity
    before = min(max(already, 0), units)
    after = min(before + max(returning, 0), units)
    return from_minor_units(tax * after // units - tax * before // units, currency)


def completes_everything_shipped(order: Order, returning: dict[str, int], already: dict[str, int]) -> bool:
    """Whether this return brings back the last of what was shipped: with it (earlier returns counted)
    every unit of every physical line is back, and without it some was not. A later return of virtual
    lines only completes nothing."""

    def everything_back(with_this: dict[str, int]) -> bool:
        return all(already.get(line.line_id, 0) + with_this.get(line.line_id, 0) >= line.quantity for line in physical)

    physical = [line for line in order.lines if line.kind == "physical"]
    return bool(physical) and everything_back(returning) and not everything_back({})


def original_shipping_items(order: Order) -> list[RefundItem]:
    """The order's shipping and its tax as refund items (none when the order paid no shipping)."""
    if order.shipping is None:
        return []
    items = [
        RefundItem(kind="shipping", amount=order.shipping.amount),
        RefundItem(kind="shipping_tax", amount=order.shipping.tax),
    ]
    return [item for item in items if item.amount > 0]


def items_total(items: list[RefundItem]) -> Decimal:
    return sum((item.amount for item in items), Decimal(0))
