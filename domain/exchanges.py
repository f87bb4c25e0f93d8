"""Exchanges: the replacement checked against the catalog, its price difference, and what the customer gets
when the replacement cannot be had."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel

from domain.money import Amount, quantize
from domain.orders import Order
from domain.policy import Policy
from domain.returns import Exchange, ExchangeLine, Hold, Refund, RefundItem, ReturnLine, ReturnRequest

if TYPE_CHECKING:
    from domain.evaluation import Evaluation


class Variant(BaseModel):
    """A catalog entry as the order system's catalog serves it."""

    sku: str
    product_id: str
    price: Amount
    in_stock: bool = True


def quote_exchange(
    order: Order, request: ReturnRequest, policy: Policy, catalog: dict[str, Variant]
) -> tuple[Exchange, list[dict[str, str]]]:
    """The replacements at their catalog prices, and the contract's ``errors[]`` for those that cannot be had.

    ``catalog`` maps a sku to its variant (a sku missing from it is unknown to the catalog); it holds the
    replacements and the returned lines' own skus. A replacement must be a variant of the returned line's
    product (the order line's ``product_id``, else the catalog's product of its sku); a price that differs is
    refused when the policy says ``refuse``. Each line is priced replacement less returned, times the units.
    """
    quantities = {line.line_id: line.quantity for line in request.lines}
    items: list[ExchangeLine] = []
    errors: list[dict[str, str]] = []
    difference = Decimal(0)
    for wanted in request.exchange_items:
        line = order.line(wanted.line_id)
        if line is None or wanted.line_id not in quantities:
            continue  # refused elsewhere (unknown line, or not being returned)
        variant = catalog.get(wanted.sku)
        if variant is None:
            errors.append(_error(wanted.line_id, "unknown_sku", f"the catalog has no sku {wanted.sku}"))
            continue
        own = catalog.get(line.sku)
        product = line.product_id or (own.product_id if own else "")
        if variant.product_id != product:
            errors.append(
                _error(
                    wanted.line_id,
                    "exchange_not_same_product",
                    f"{wanted.sku} is not a variant of {product or line.sku}, the product of line {line.line_id}",
                )
            )
            continue
        units = quantities[wanted.line_id]
        delta = quantize((variant.price - line.unit_price) * units, order.currency)
        if delta != 0 and policy.exchange_price_difference == "refuse":
            errors.append(
                _error(
                    wanted.line_id,
                    "exchange_price_differs",
                    f"{wanted.sku} costs {variant.price} {order.currency}, line {line.line_id} cost "
                    f"{line.unit_price}: this shop exchanges only at the same price",
                )
            )
            continue
        difference += delta
        items.append(ExchangeLine(line_id=wanted.line_id, sku=wanted.sku, quantity=units, unit_price=variant.price))
    return Exchange(items=items, price_difference=quantize(difference, order.currency)), errors


def price_difference_items(exchange: Exchange) -> list[RefundItem]:
    """The refund a cheaper replacement gives: the difference, as one ``price_difference`` item."""
    if exchange.price_difference >= 0:
        return []
    line_id = exchange.items[0].line_id if len(exchange.items) == 1 else None
    return [RefundItem(kind="price_difference", line_id=line_id, amount=-exchange.price_difference)]


def replacement_value(exchange: Exchange | None, lines: list[ReturnLine], currency: str) -> Decimal:
    """What an instant exchange holds on the customer's payment: the replacements at the catalog's prices (the
    returned lines' own prices when the catalog was not asked)."""
    if exchange is not None and exchange.items:
        return quantize(sum((item.unit_price * item.quantity for item in exchange.items), Decimal(0)), currency)
    return quantize(sum((line.unit_price * line.quantity for line in lines), Decimal(0)), currency)


def _error(line_id: str, code: str, message: str) -> dict[str, str]:
    return {"line_id": line_id, "code": code, "message": message}


def out_of_stock_refund(policy: Policy, evaluation: Evaluation) -> Refund:
    """The refund an exchange becomes when its replacement is out of stock: store credit (with the
    policy's bonus) or money back to the original tenders, as ``exchange_out_of_stock`` says."""
    as_credit = policy.exchange_out_of_stock == "store_credit"
    return Refund(
        method="store_credit" if as_credit else "original",
        currency=evaluation.currency,
        amount=evaluation.store_credit_estimate if as_credit else evaluation.refund_estimate,
        items=evaluation.refund_items,
        fees=evaluation.fees,
        # A serial returner's deposit stays held until inspection, as the decision announced.
        holds=[Hold(amount=evaluation.deposit)] if evaluation.deposit else [],
    )
