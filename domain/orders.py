"""An order as synced from the merchant's order system (contract: Orders)."""

import functools
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.languages import Language
from domain.money import Amount, has_valid_precision
from domain.wire import Timestamp, json_boolean, json_integer

Identifier = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")


# Fields of these types take their values only as JSON writes them: error type and the check (domain/wire.py).
_WIRE_CHECKS: dict[Any, tuple[str, Callable[[Any], bool]]] = {
    int: ("int_type", json_integer),
    int | None: ("int_type", json_integer),
    bool: ("bool_type", json_boolean),
    bool | None: ("bool_type", json_boolean),
}


class StrictModel(BaseModel):
    """Unknown fields are refused: nobody mass-assigns ``status`` or ``refund``.

    Integers and booleans are not coerced either: ``"3"`` and ``true`` are not a quantity of 3,
    ``"yes"`` and ``1`` are not ``true``, as the JSON Schema of each field says.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _as_json_writes_them(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        errors: list[Any] = [
            {"type": error_type, "loc": (key,), "input": data[key]}
            for key, error_type, check in _wire_checked_fields(cls)
            if key in data and not check(data[key])
        ]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data


@functools.cache
def _wire_checked_fields(model: type[BaseModel]) -> tuple[tuple[str, str, Callable[[Any], bool]], ...]:
    """The fields of ``model`` that take values only as JSON writes them: key, error type and check. Found once
    per model: looking through every field at every validation was 4 % of the worker's CPU (py-spy)."""
    return tuple(
        (field.alias or name, *_WIRE_CHECKS[field.annotation])
        for name, field in model.model_fields.items()
        if field.annotation in _WIRE_CHECKS
    )


class OrderLine(StrictModel):
    line_id: str = Identifier
    sku: str = Field(min_length=1, max_length=128)
    product_id: str = Field("", max_length=128)
    title: str = Field("", max_length=500)
    category: str = Field("", max_length=64)
    kind: Literal["physical", "virtual"] = "physical"
    quantity: int = Field(ge=1, le=100_000)
    unit_price: Amount = Field(ge=0)
    final_sale: bool = False
    tax: Amount = Field(Decimal(0), ge=0, description="The line's total tax (all its units).")


class Payment(StrictModel):
    payment_id: str = Identifier
    method: Literal["card", "wallet", "gift_card", "store_credit"]
    amount: Amount = Field(ge=0)
    provider_ref: str = Field("", max_length=256)


class Shipping(StrictModel):
    """What the customer paid for the order's shipping, and its tax."""

    amount: Amount = Field(ge=0)
    tax: Amount = Field(Decimal(0), ge=0)


class Address(StrictModel):
    name: str = Field("", max_length=200)
    line1: str = Field("", max_length=300)
    line2: str = Field("", max_length=300)
    city: str = Field("", max_length=120)
    region: str = Field("", max_length=120)
    postal_code: str = Field("", max_length=32)
    country: str = Field("", max_length=2)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)


class OrderIn(StrictModel):
    """The body of ``PUT /v1/orders/{order_id}``."""

    customer_id: str = Identifier
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    placed_at: Timestamp
    fulfillment_status: Literal["unfulfilled", "shipped", "delivered"]
    delivered_at: Timestamp | None = None
    lines: list[OrderLine] = Field(min_length=1, max_length=500)
    payments: list[Payment] = Field(default_factory=list, max_length=50)
    shipping_address: Address | None = None
    shipping: Shipping | None = None
    language: Language | None = Field(
        None, description="The language the customer reads; their messages are in it (English when absent)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "OrderIn":
        ids = [line.line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("line_id values must be unique within an order")
        payment_ids = [payment.payment_id for payment in self.payments]
        if len(payment_ids) != len(set(payment_ids)):
            raise ValueError("payment_id values must be unique within an order")
        for line in self.lines:
            if not has_valid_precision(line.unit_price, self.currency):
                raise ValueError(f"line {line.line_id}: unit_price has more decimals than {self.currency} allows")
            if not has_valid_precision(line.tax, self.currency):
                raise ValueError(f"line {line.line_id}: tax has more decimals than {self.currency} allows")
        if self.shipping is not None and not (
            has_valid_precision(self.shipping.amount, self.currency)
            and has_valid_precision(self.shipping.tax, self.currency)
        ):
            raise ValueError(f"shipping has more decimals than {self.currency} allows")
        for payment in self.payments:
            if not has_valid_precision(payment.amount, self.currency):
                raise ValueError(f"payment {payment.payment_id}: amount has more decimals than {self.currency} allows")
        if self.fulfillment_status == "delivered" and self.delivered_at is None:
            raise ValueError("delivered_at is required when fulfillment_status is delivered")
        return self


class Order(OrderIn):
    """An order with its id, as the workflow and the policy see it."""

    order_id: str

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)


def order_reference_time(order: Order) -> datetime:
    """The window runs from delivery; an undelivered order counts from when it was placed."""
    return order.delivered_at or order.placed_at


def returnable_quantity(line: OrderLine, claimed: dict[str, int]) -> int:
    """Units of ``line`` not yet held by a return (``claimed``: line id → units in returns)."""
    return line.quantity - claimed.get(line.line_id, 0)
