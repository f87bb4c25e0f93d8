"""Exact money: ``Decimal`` amounts with an ISO 4217 currency, never float.

Amounts cross the API and Temporal as decimal strings (``"19.99"``) and sit in
the database as integer minor units (cents).
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

# ISO 4217 currencies whose minor unit is not 2 digits; all others use 2.
_MINOR_DIGITS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}


def minor_digits(currency: str) -> int:
    return _MINOR_DIGITS.get(currency.upper(), 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (how a receipt rounds)."""
    return amount.quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_HALF_UP)


def has_valid_precision(amount: Decimal, currency: str) -> bool:
    return quantize(amount, currency) == amount


def to_minor_units(amount: Decimal, currency: str) -> int:
    return int(quantize(amount, currency).scaleb(minor_digits(currency)))


def from_minor_units(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_digits(currency))


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    return quantize(amount * percent / Decimal(100), currency)


# Far above any real order, and well inside Decimal's 28-digit precision.
MAX_AMOUNT = Decimal(10) ** 12


def _parse_amount(value: Any) -> Any:
    # Floats are refused on purpose: 0.1 + 0.2 is how refunds end up a cent off.
    if isinstance(value, float):
        raise ValueError('money must be a decimal string such as "19.99", not a number')
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f"{value!r} is not a decimal amount") from None
        value = parsed
    if isinstance(value, Decimal | int):
        if not Decimal(value).is_finite():
            raise ValueError(f"{value!r} is not a finite amount")
        if abs(Decimal(value)) >= MAX_AMOUNT:
            raise ValueError(f"amounts must be below {MAX_AMOUNT:,}")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="always"),
]
"""A decimal amount that parses from a string and serializes back to one."""
