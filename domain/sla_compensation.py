"""Compensation when we are late: what the policy offers per attention reason, and what a return was given.

A breach (the attention of a configured reason opening) issues the offer once,
through the promotions partner, under a key per return, reason and breach
(``domain.idempotency_keys.compensation_key``).
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.money import Amount
from domain.orders import StrictModel

CompensationKind = Literal["coupon", "points"]
# Points are no currency: the ledger keeps them under this code, whole.
POINTS_UNIT = "PTS"


class CompensationOffer(StrictModel):
    """What the policy gives the customer for one kind of lateness."""

    kind: CompensationKind
    amount: Amount = Field(gt=0, description="The coupon's value in the order's currency, or a number of points.")


class IssuedCompensation(BaseModel):
    """A compensation the customer received, as the Return lists it."""

    kind: CompensationKind
    amount: Amount
    code: str | None = Field(None, description="The coupon's code (points have none).")
    reason: str = Field(description="The attention reason whose deadline was missed.")
    at: datetime


def ledger_unit(offer: CompensationOffer, order_currency: str) -> str:
    """The currency the ledger records a compensation in: the order's for a coupon, points for points."""
    return order_currency if offer.kind == "coupon" else POINTS_UNIT
