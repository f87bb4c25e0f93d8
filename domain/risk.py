"""Customer risk: a level and the reasons for it, from the customer's history in the store.

Pure: the API gathers ``CustomerHistory`` from the database, this module judges
it, and the result travels with the return so the workflow replays the same
decision.
"""

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from domain.money import Amount
from domain.orders import StrictModel

Level = Literal["low", "medium", "high"]
# What an inspection finds of an item that should not have been claimed as it was.
BAD_CONDITIONS = frozenset({"not_as_described", "missing"})


class RiskRules(StrictModel):
    """The ``risk`` section of the policy."""

    lookback_days: int = Field(180, ge=1, le=3650)
    min_orders_for_rate: int = Field(3, ge=1, le=1000, description="Below this many orders the rate is not judged.")
    medium_return_rate: Amount = Field(Decimal("0.30"), ge=0, le=1)
    high_return_rate: Amount = Field(Decimal("0.60"), ge=0, le=1)

    @field_validator("high_return_rate")
    @classmethod
    def _high_above_medium(cls, high: Decimal, info: ValidationInfo) -> Decimal:
        medium = info.data.get("medium_return_rate")
        if medium is not None and high < medium:
            raise ValueError("high_return_rate cannot be below medium_return_rate")
        return high

    serial_returns: int = Field(10, ge=1, le=10_000, description="This many returns in the lookback is serial.")
    bad_inspections_high: int = Field(2, ge=1, le=1000)
    serial_returner_action: Literal["review", "deposit"] = "review"
    deposit_percent: Amount = Field(Decimal("20"), ge=0, le=100)


class CustomerHistory(BaseModel):
    """What the store knows of one customer over the lookback."""

    orders: int = 0
    returns: int = 0
    bad_inspections: int = 0  # inspections that found not_as_described or missing
    open_disputes: int = 0  # dispute tickets of the customer's returns still open
    methods_used: dict[str, int] = Field(
        default_factory=dict, description="How the customer's returns went back: logistics method → returns."
    )


class RiskAssessment(BaseModel):
    level: Level = "low"
    reasons: list[str] = Field(default_factory=list)
    serial_returner: bool = False
    evidence_findings: list[str] = Field(
        default_factory=list,
        description="What the checks of the return's photos found (domain/evidence.py): each sends it to review.",
    )

    @property
    def overall_level(self) -> Level:
        """The level the decision shows: high when the photos were flagged, else the customer's."""
        return "high" if self.evidence_findings else self.level


def assess(history: CustomerHistory, rules: RiskRules) -> RiskAssessment:
    """Points for each warning sign: 0 is low, 1–2 medium, 3 or more high."""
    points, reasons = 0, []
    days = rules.lookback_days
    if history.orders >= rules.min_orders_for_rate:
        rate = Decimal(history.returns) / Decimal(history.orders)
        if rate >= rules.high_return_rate:
            points += 2
            reasons.append(f"returned {history.returns} of {history.orders} orders in {days} days")
        elif rate >= rules.medium_return_rate:
            points += 1
            reasons.append(f"returned {history.returns} of {history.orders} orders in {days} days")
    serial = history.returns >= rules.serial_returns
    if serial:
        points += 3
        reasons.append(f"{history.returns} returns in {days} days")
    if history.bad_inspections:
        points += 3 if history.bad_inspections >= rules.bad_inspections_high else 1
        reasons.append(f"{history.bad_inspections} returned items were not as described or missing")
    if history.open_disputes:
        points += 1
        reasons.append(f"{history.open_disputes} open disputes")
    level: Level = "high" if points >= 3 else "medium" if points >= 1 else "low"
    return RiskAssessment(level=level, reasons=reasons, serial_returner=serial)
