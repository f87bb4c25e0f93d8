"""Money is exact: per-currency minor units, receipt rounding, strings on the wire, never floats."""

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from domain.money import (
    Amount,
    from_minor_units,
    has_valid_precision,
    minor_digits,
    percent_of,
    quantize,
    to_minor_units,
)
from domain.orders import Order
from domain.returns import Fee

AMOUNT = TypeAdapter(Amount)
PROPERTY = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


class Priced(BaseModel):
    price: Amount


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("usd", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("kwd", 3),
    ],
)
def test_each_currency_has_its_iso_4217_number_of_decimals(currency, digits):
    assert minor_digits(currency) == digits


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [
        ("USD", "19.99", "19.99"),
        ("USD", "19.9", "19.90"),
        ("USD", "1.005", "1.01"),  # half a cent rounds up, as a receipt does
        ("USD", "1.0049", "1.00"),
        ("USD", "2.675", "2.68"),  # the amount floats famously get wrong
        ("USD", "0.125", "0.13"),  # half-up, not banker's rounding to even
        ("JPY", "100.5", "101"),
        ("JPY", "100.49", "100"),
        ("JPY", "250", "250"),
        ("KWD", "1.0005", "1.001"),
        ("KWD", "1.0004", "1.000"),
        ("KWD", "7", "7.000"),
    ],
)
def test_amounts_are_rounded_half_up_to_the_currency_minor_unit(currency, amount, expected):
    rounded = quantize(Decimal(amount), currency)
    assert str(rounded) == expected
    assert has_valid_precision(rounded, currency)


@pytest.mark.parametrize(
    ("currency", "amount", "valid"),
    [
        ("USD", "19.99", True),
        ("USD", "19.999", False),
        ("JPY", "500", True),
        ("JPY", "500.5", False),
        ("KWD", "1.234", True),
        ("KWD", "1.2345", False),
    ],
)
def test_an_amount_with_more_decimals_than_the_currency_allows_is_detected(currency, amount, valid):
    assert has_valid_precision(Decimal(amount), currency) is valid


@pytest.mark.parametrize(
    ("currency", "amount", "units"),
    [
        ("USD", "19.99", 1999),
        ("USD", "0.01", 1),
        ("USD", "0", 0),
        ("USD", "0.005", 1),
        ("JPY", "500", 500),
        ("JPY", "499.5", 500),
        ("KWD", "1.234", 1234),
        ("KWD", "0.001", 1),
    ],
)
def test_amounts_are_stored_as_integer_minor_units(currency, amount, units):
    assert to_minor_units(Decimal(amount), currency) == units
    assert isinstance(to_minor_units(Decimal(amount), currency), int)


@PROPERTY
@given(units=st.integers(min_value=-(10**12), max_value=10**12), currency=st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
def test_minor_units_round_trip_exactly(units, currency):
    amount = from_minor_units(units, currency)
    assert has_valid_precision(amount, currency)
    assert to_minor_units(amount, currency) == units
    assert from_minor_units(to_minor_units(amount, currency), currency) == amount


@pytest.mark.parametrize(
    ("amount", "percent", "currency", "expected"),
    [
        ("100.00", "15", "USD", "15.00"),
        ("33.33", "15", "USD", "5.00"),  # 4.9995 rounds up
        ("19.99", "10", "USD", "2.00"),  # 1.999 rounds up
        ("999", "15", "JPY", "150"),  # 149.85
        ("1.000", "15", "KWD", "0.150"),
        ("10.00", "0", "USD", "0.00"),
    ],
)
def test_a_percentage_of_an_amount_is_rounded_to_the_currency(amount, percent, currency, expected):
    assert str(percent_of(Decimal(amount), Decimal(percent), currency)) == expected


@pytest.mark.parametrize("value", [19.99, 0.1, 0.0, 1e3, 5, 0, True])
def test_money_given_as_a_json_number_is_refused_with_a_clear_message(value):
    with pytest.raises(ValidationError, match=r'decimal string such as "19.99", not a number'):
        Priced.model_validate({"price": value})
    with pytest.raises(ValidationError, match="not a number"):
        Priced.model_validate_json(json.dumps({"price": value}))


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf"])
def test_money_that_is_not_a_finite_number_is_refused(value):
    with pytest.raises(ValidationError, match="not a finite amount"):
        Priced.model_validate({"price": value})


@pytest.mark.parametrize(
    "value", ["", "abc", "19,99", "$19.99", "1.2.3", " 19.99 ", "+1", "1E+2", "1_000", "019.99", ".5", "5.", "1e30"]
)
def test_money_that_is_not_a_decimal_is_refused(value):
    with pytest.raises(ValidationError, match="not a decimal amount"):
        Priced.model_validate({"price": value})


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("19.99", Decimal("19.99")),
        ("0.10", Decimal("0.10")),
        ("-0", Decimal("-0")),
        ("999999999999.999", Decimal("999999999999.999")),
        (Decimal("2.50"), Decimal("2.50")),
    ],
)
def test_money_is_read_from_decimal_strings_exactly(value, parsed):
    amount = Priced.model_validate({"price": value}).price
    assert amount == parsed
    assert isinstance(amount, Decimal)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("19.90", "19.90"),
        ("0.10", "0.10"),
        ("5", "5"),
        ("0.000", "0.000"),
    ],
)
def test_money_is_written_as_a_decimal_string_keeping_its_trailing_zeros(value, wire):
    model = Priced.model_validate({"price": value})
    assert model.model_dump() == {"price": wire}
    assert json.loads(model.model_dump_json()) == {"price": wire}
    assert Priced.model_validate_json(model.model_dump_json()) == model
    assert AMOUNT.dump_python(Decimal(value)) == wire


def test_a_fee_serializes_its_amount_as_a_string():
    assert json.loads(Fee(kind="return_shipping", amount=Decimal("5.99")).model_dump_json()) == {
        "kind": "return_shipping",
        "amount": "5.99",
    }


def _order(currency: str, unit_price: object) -> dict:
    return {
        "order_id": "O1",
        "customer_id": "C1",
        "currency": currency,
        "placed_at": "2025-01-01T00:00:00Z",
        "fulfillment_status": "unfulfilled",
        "lines": [{"line_id": "L1", "sku": "S1", "quantity": 1, "unit_price": unit_price}],
    }


@pytest.mark.parametrize(
    ("currency", "unit_price", "accepted"),
    [
        ("USD", "19.99", True),
        ("USD", "19.999", False),
        ("JPY", "1500", True),
        ("JPY", "1500.5", False),
        ("KWD", "1.234", True),
        ("KWD", "1.2345", False),
        ("USD", "-1.00", False),
        ("USD", 19.99, False),
    ],
)
def test_an_order_refuses_prices_its_currency_cannot_express(currency, unit_price, accepted):
    if accepted:
        assert Order.model_validate(_order(currency, unit_price)).lines[0].unit_price == Decimal(unit_price)
    else:
        with pytest.raises(ValidationError):
            Order.model_validate(_order(currency, unit_price))


@pytest.mark.parametrize("unit_price", ["1e30"])
def test_an_absurdly_large_price_is_refused_as_invalid_input_not_a_crash(unit_price):
    with pytest.raises(ValidationError):
        Order.model_validate(_order("USD", unit_price))
