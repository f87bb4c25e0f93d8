"""The return policy as data: what a merchant configures, validated with named fields.

``domain.evaluation.evaluate`` applies it to a request.
"""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from domain.attention import AttentionReason
from domain.money import Amount
from domain.orders import StrictModel
from domain.returns import Condition, Reason
from domain.risk import Level, RiskRules
from domain.sla_compensation import CompensationOffer


class CategoryRule(StrictModel):
    """Overrides of the defaults for the lines of one category."""

    window_days: int | None = Field(None, ge=0, le=3650)
    window_hours: int | None = Field(None, ge=0, le=87600)

    @field_validator("window_hours")
    @classmethod
    def _one_window(cls, hours: int | None, info: ValidationInfo) -> int | None:
        if hours is not None and info.data.get("window_days") is not None:
            raise ValueError("give window_days or window_hours, not both")
        return hours

    reasons: list[Reason] | None = None
    evidence_required: bool | None = None
    restocking_fee_percent: Amount | None = Field(None, ge=0, le=100)


_DEFAULT_DEDUCTIONS: dict[Condition, Decimal] = {
    "damaged": Decimal("50"),
    "not_as_described": Decimal("100"),
    "missing": Decimal("100"),
}


class Policy(StrictModel):
    window_days: int = Field(30, ge=0, le=3650)
    no_reason_window_days: int = Field(7, ge=0, le=3650)
    customer_reasons: list[Reason] = Field(
        default_factory=lambda: [Reason.CHANGED_MIND, Reason.SIZE_FIT, Reason.BETTER_PRICE, Reason.OTHER]
    )
    return_shipping_fee: Amount = Field(Decimal("5.99"), ge=0)
    restocking_fee_percent: Amount = Field(Decimal("0"), ge=0, le=100)
    store_credit_bonus_percent: Amount = Field(Decimal("10"), ge=0, le=100)
    auto_approve_max_amount: Amount = Field(Decimal("200.00"), ge=0)
    evidence_required_over_amount: Amount = Field(Decimal("500.00"), ge=0)
    keep_item_max_amount: Amount = Field(Decimal("0.00"), ge=0)
    review_risk_levels: list[Level] = Field(default_factory=lambda: list[Level](["high"]))
    refund_trigger: Literal["inspection", "receipt", "first_scan"] = "inspection"
    exchange_ship_on: Literal["first_scan", "receipt"] = Field(
        "first_scan", description="When the replacement of an exchange leaves: at the return's first scan or receipt."
    )
    exchange_out_of_stock: Literal["refund", "store_credit"] = Field(
        "store_credit", description="What the customer gets instead when the replacement is out of stock."
    )
    exchange_price_difference: Literal["settle", "refuse"] = Field(
        "settle",
        description="A replacement at another price: settle the difference (refund a cheaper one, collect a "
        "dearer one through a payment request) or refuse the exchange (exchange_price_differs).",
    )
    instant_exchange: bool = Field(
        False,
        description="Ship the replacement at approval against an authorization hold on the customer's payment, "
        "released at the return's first scan before ship_by and captured after it.",
    )
    condition_deduction_percent: dict[Condition, Amount] = Field(
        default_factory=lambda: _DEFAULT_DEDUCTIONS.copy(),
        description="Taken off a customer-liable line's refund when inspection grades it so.",
    )
    refund_failure_fallback: Literal["store_credit", "none"] = Field(
        "store_credit",
        description="When the original tender refuses a refund (closed card): pay store credit "
        "instead, or open a ticket for a person.",
    )
    refund_original_shipping: Literal["never", "merchant_liable_full_return"] = Field(
        "never",
        description="When the order's original shipping (and its tax) is refunded: never, or with a "
        "merchant-liable return that brings back everything shipped (earlier returns counted).",
    )
    ship_by_days: int = Field(14, ge=1, le=365)
    review_sla_hours: int = Field(48, ge=1, le=8760)
    inspection_sla_hours: int = Field(72, ge=1, le=8760)
    urge_sla_factor: Amount = Field(
        Decimal("1"),
        ge=0,
        le=1,
        description="A customer's urge multiplies the time left until the review or inspection deadline by "
        "this (0.5 halves it, 0 makes it due at once, 1 leaves it).",
    )
    sla_compensation: dict[AttentionReason, CompensationOffer] = Field(
        default_factory=dict,
        description="What the customer is given, once per breach, when the attention of a reason opens "
        '(e.g. review_overdue: {kind: coupon, amount: "5.00"}); none by default.',
    )
    risk: RiskRules = Field(default_factory=RiskRules)

    @field_validator("no_reason_window_days")
    @classmethod
    def _no_reason_window_fits(cls, days: int, info: ValidationInfo) -> int:
        window = info.data.get("window_days")
        if window is not None and days > window:
            raise ValueError(f"the no-reason window ({days} days) cannot be longer than window_days ({window})")
        return days

    categories: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], CategoryRule] = Field(
        default_factory=lambda: {
            "fresh": CategoryRule(
                window_hours=24,
                reasons=[Reason.QUALITY_ISSUE, Reason.DAMAGED, Reason.WRONG_ITEM, Reason.MISSING_ITEM],
                evidence_required=True,
            ),
            "electronics": CategoryRule(window_days=15, restocking_fee_percent=Decimal("15")),
        }
    )


DEFAULT_POLICY = Policy()
