"""Exact money: ``Decimal`` amounts with an ISO 4217 currency, never float.

Amounts cross the API and Temporal as decimal strings (``"19.99"``) and sit in
the database as integer minor units (cents).
"""

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, GetJsonSchemaHandler, PlainSerializer
from pydantic.json_schema import JsonSchemaValue

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
# What an amount looks like on the wire: an optional minus, at most 12 integer digits (below ``MAX_AMOUNT``)
# without leading zeros, and any number of decimals. No "+", exponent, spaces, underscores or "NaN".
# ``format(amount, "f")`` writes every amount this way, so what the API answers reads back the same.
INTEGER_PART = "(0|[1-9][0-9]{0,11})"
DECIMALS = r"(\.[0-9]+)?"
AMOUNT_PATTERN = f"^-?{INTEGER_PART}{DECIMALS}$"
_AMOUNT = re.compile(AMOUNT_PATTERN)


def _parse_amount(value: Any) -> Any:
    # Numbers are refused on purpose: 0.1 + 0.2 is how refunds end up a cent off.
    if isinstance(value, int | float):
        raise ValueError('money must be a decimal string such as "19.99", not a number')
    if isinstance(value, str):
        if value.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
            raise ValueError(f"{value!r} is not a finite amount")
        if not _AMOUNT.match(value):
            raise ValueError(f'{value!r} is not a decimal amount such as "19.99" (at most 12 digits before the point)')
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} is not a finite amount")
        if abs(value) >= MAX_AMOUNT:
            raise ValueError(f"amounts must be below {MAX_AMOUNT:,}")
    return value


def amount_pattern(lower: Decimal | None = None, upper: Decimal | None = None, *, positive: bool = False) -> str:
    """The wire pattern of an amount that is ``>= lower`` (0), ``> 0`` (``positive``) and ``<= upper`` (a whole number).

    A JSON Schema cannot compare a string with a number, so the bounds an amount field declares
    (``Field(ge=0, le=100)``) are written into its pattern instead: the served schema then says
    exactly which strings the field takes. ``"-0"`` is zero, so it passes ``ge=0``.
    """
    if lower is None and upper is None and not positive:
        return AMOUNT_PATTERN
    if positive and lower is None and upper is None:
        return r"^(0\.[0-9]*[1-9][0-9]*|[1-9][0-9]{0,11}(\.[0-9]+)?)$"
    if positive or lower != 0 or (upper is not None and (upper != int(upper) or upper < 1)):
        raise NotImplementedError(f"no wire pattern for amounts in [{lower}, {upper}]; add one to domain/money.py")
    zero = r"-0(\.0+)?"
    if upper is None:
        return f"^({zero}|{INTEGER_PART}{DECIMALS})$"
    return f"^({zero}|{_integers_up_to(int(upper) - 1)}{DECIMALS}|{int(upper)}(\\.0+)?)$"


def _integers_up_to(top: int) -> str:
    """A regular expression for the integers 0..``top``, written without leading zeros."""
    digits = str(top)
    if len(digits) == 1:
        return f"[0-{digits}]"
    options = ["[0-9]"] + [f"[1-9][0-9]{{{length - 1}}}" for length in range(2, len(digits))]
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 else 0
        if i == len(digits) - 1:
            options.append(f"{digits[:i]}[{lowest}-{digit}]")
        elif int(digit) > lowest:
            options.append(f"{digits[:i]}[{lowest}-{int(digit) - 1}][0-9]{{{len(digits) - i - 1}}}")
    return "(" + "|".join(options) + ")"


class _WireSchema:
    """The JSON Schema of an amount: a string of ``AMOUNT_PATTERN``, narrowed to the field's bounds."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        inner = core_schema  # the decimal, below the validators (ours, and a model's own field validators)
        while inner.get("type") != "decimal" and isinstance(inner.get("schema"), dict):
            inner = inner["schema"]
        if inner.get("lt") is not None or inner.get("gt") not in (None, 0):
            raise NotImplementedError(f"no wire pattern for amounts bounded by {inner}")
        pattern = amount_pattern(inner.get("ge"), inner.get("le"), positive=inner.get("gt") == 0)
        return {"type": "string", "pattern": pattern}


Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="always"),
    _WireSchema(),
]
"""A decimal amount that parses from a string (``AMOUNT_PATTERN``) and serializes back to one.

Python callers may pass a ``Decimal``; JSON numbers are refused, integers too.
"""
