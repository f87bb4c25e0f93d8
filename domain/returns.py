"""A return: what the caller asks for and the state the workflow keeps.

``ReturnView`` is the Return of the contract; the workflow holds one, writes it
to the read model at every transition, and the API serves it from there.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from domain.attention import Attention
from domain.evidence import EvidenceId
from domain.money import Amount
from domain.orders import Identifier, Order, StrictModel
from domain.pickup_slots import PickupSlot
from domain.risk import Level
from domain.sla_compensation import IssuedCompensation
from domain.wire import WebLink


class Reason(StrEnum):
    DEFECTIVE = "defective"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    MISSING_ITEM = "missing_item"
    NOT_AS_DESCRIBED = "not_as_described"
    QUALITY_ISSUE = "quality_issue"
    CHANGED_MIND = "changed_mind"
    SIZE_FIT = "size_fit"
    BETTER_PRICE = "better_price"
    NOT_RECEIVED = "not_received"
    OTHER = "other"


class SuggestedReason(BaseModel):
    """The reason a line's comment clearly points to, when it is not the one chosen (domain/reason_suggestions.py)."""

    reason: Reason
    score: float = Field(description="Cosine similarity of the comment to the reason's phrasings, 0 to 1.")


class Status(StrEnum):
    REQUESTED = "requested"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    AWAITING_SHIPMENT = "awaiting_shipment"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSPECTED = "inspected"
    REFUND_PENDING = "refund_pending"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"
    NEEDS_ATTENTION = "needs_attention"


FINAL_STATUSES = frozenset({Status.COMPLETED, Status.REJECTED, Status.CANCELED, Status.EXPIRED})
CANCELABLE_STATUSES = frozenset({Status.REQUESTED, Status.UNDER_REVIEW, Status.APPROVED, Status.AWAITING_SHIPMENT})


def status_changes(before: Status, statuses: Sequence[Status]) -> list[Status]:
    """The statuses a return entered going from ``before`` through ``statuses`` (those one write shows it
    passed, then where it is now), in order: each that differs from the one it follows."""
    entered = []
    for status in statuses:
        if status != before:
            entered.append(status)
            before = status
    return entered


Condition = Literal["as_new", "opened", "damaged", "not_as_described", "missing"]
Disposition = Literal["restock", "refurbish", "liquidate", "dispose", "return_to_customer"]
LogisticsMethod = Literal["pickup", "drop_off", "mail", "none"]
Outcome = Literal["auto_approved", "needs_review", "approved", "rejected"]
ScanEvent = Literal["picked_up", "in_transit", "delivered", "exception"]
# How far a scan says the parcel has got: 1 on its way, 2 arrived (an exception says nothing about progress).
_SCAN_PROGRESS: dict[ScanEvent, int] = {"picked_up": 1, "in_transit": 1, "delivered": 2, "exception": 0}


def scan_progress(event: ScanEvent) -> int:
    return _SCAN_PROGRESS[event]


# ---- what the caller sends -------------------------------------------------


class RequestedLine(StrictModel):
    line_id: str = Identifier
    quantity: int = Field(ge=1, le=100_000)
    reason: Reason
    comment: str = Field("", max_length=2000)
    evidence: list[WebLink | EvidenceId] = Field(
        default_factory=list,
        max_length=20,
        description="Photos uploaded with POST /v1/evidence (their ids), or links to evidence elsewhere.",
    )

    @property
    def evidence_ids(self) -> list[str]:
        """The uploaded photos among the evidence (the links are not ours to check)."""
        return [item for item in self.evidence if isinstance(item, str)]


class ExchangeItem(StrictModel):
    line_id: str = Identifier
    sku: str = Field(min_length=1, max_length=128)


class LogisticsRequest(StrictModel):
    method: LogisticsMethod = "mail"
    pickup_slot: PickupSlot | None = None


class ReturnRequest(StrictModel):
    """The body of ``POST /v1/returns`` and ``POST /v1/returns/preview``."""

    order_id: str = Identifier
    lines: list[RequestedLine] = Field(min_length=1, max_length=100)
    resolution: Literal["refund", "store_credit", "exchange"] = "refund"
    exchange_items: list[ExchangeItem] = Field(default_factory=list, max_length=100)
    logistics: LogisticsRequest = Field(default_factory=LogisticsRequest)
    channel: Literal["storefront", "customer_service", "api"] = "api"
    override: bool = Field(False, description="Staff only: approve what the policy would refuse.")
    override_reason: str = Field("", max_length=500)

    @property
    def evidence_ids(self) -> list[str]:
        """Every uploaded photo the request submits, line by line."""
        return [evidence_id for line in self.lines for evidence_id in line.evidence_ids]

    @model_validator(mode="after")
    def _consistent(self) -> "ReturnRequest":
        ids = [line.line_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("each line_id may appear once; add the quantities together")
        if self.override and len(self.override_reason.strip()) < 3:
            raise ValueError("an override needs an override_reason")
        return self


class InspectedLine(StrictModel):
    line_id: str = Identifier
    condition: Condition
    disposition: Disposition
    note: str = Field("", max_length=2000)


class Inspection(StrictModel):
    """The body of ``POST /v1/returns/{id}/inspection``."""

    lines: list[InspectedLine] = Field(min_length=1, max_length=100)


class CancelRequest(StrictModel):
    note: str = Field("", max_length=2000)


class DisputeRequest(StrictModel):
    message: str = Field(min_length=1, max_length=4000)


class ReviewDecision(StrictModel):
    """The body of ``POST /v1/returns/{id}/review``."""

    decision: Literal["approve", "reject"]
    note: str = Field("", max_length=2000)


# ---- what the workflow keeps and the API shows -------------------------------


class Fee(BaseModel):
    kind: Literal["return_shipping", "restocking"]
    amount: Amount


class Decision(BaseModel):
    outcome: Outcome
    rules: list[str] = Field(default_factory=list)
    risk: Level = "low"
    risk_reasons: list[str] = Field(default_factory=list)


class ReturnLine(BaseModel):
    line_id: str
    quantity: int
    reason: Reason
    liability: Literal["merchant", "customer"]
    unit_price: Amount
    sku: str = ""
    suggested_reason: SuggestedReason | None = Field(
        None, description="The reason the customer's comment points to, when it is not the one chosen."
    )
    condition: Condition | None = None
    disposition: Disposition | None = None


class ReturnShipment(BaseModel):
    """A parcel sent back to the customer: a line inspection gave the disposition ``return_to_customer``."""

    line_id: str
    carrier: str
    tracking_number: str


class DropOffPoint(BaseModel):
    """A counter near the order's address where a drop-off return can be handed in."""

    point_id: str
    name: str
    address: str
    postal_code: str
    country: str = ""


class Logistics(BaseModel):
    method: LogisticsMethod
    carrier: str | None = None
    tracking_number: str | None = None
    label_url: str | None = None
    ship_by: datetime | None = None
    pickup_slot: PickupSlot | None = Field(None, description="The booked pickup window (method pickup).")
    drop_off_token: str | None = Field(
        None, description="Method drop_off: the secret a counter scans instead of a printed label."
    )
    qr_code_url: str | None = Field(None, description="Method drop_off: the token's QR code, a PNG to show.")
    drop_off_points: list[DropOffPoint] = Field(
        default_factory=list, description="Method drop_off: counters near the order's address, nearest first."
    )
    return_shipments: list[ReturnShipment] = Field(
        default_factory=list,
        description="Lines shipped back to the customer after inspection (disposition return_to_customer).",
    )


class RefundPart(BaseModel):
    """One movement of money back to one tender; its key makes the call idempotent."""

    payment_id: str
    amount: Amount
    idempotency_key: str
    status: Literal["pending", "succeeded", "failed"] = "pending"
    provider_refund_id: str | None = None


class Hold(BaseModel):
    """Part of the refund kept back until inspection (a serial returner's deposit)."""

    kind: Literal["deposit"] = "deposit"
    amount: Amount
    status: Literal["held", "released", "kept"] = "held"


class Deduction(BaseModel):
    """Taken off the refund after inspection."""

    line_id: str
    kind: Literal["condition", "returned_to_customer"]
    amount: Amount


RefundItemKind = Literal["goods", "tax", "shipping", "shipping_tax", "price_difference"]


class RefundItem(BaseModel):
    """One part of what a refund gives back: a line's goods or its tax, the original shipping or its tax.

    Items are what the return is worth to the customer before fees and deductions (listed beside them):
    the refund's amount is the items less the fees, deductions and a kept deposit.
    """

    kind: RefundItemKind
    line_id: str | None = None
    amount: Amount


class Refund(BaseModel):
    method: Literal["original", "store_credit"] = "original"
    amount: Amount
    currency: str
    # Empty in returns opened before refunds were itemized.
    items: list[RefundItem] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    holds: list[Hold] = Field(default_factory=list)
    deductions: list[Deduction] = Field(default_factory=list)
    status: Literal["pending", "succeeded", "failed"] = "pending"
    parts: list[RefundPart] = Field(default_factory=list)


class ExchangeLine(BaseModel):
    """A replacement of an exchange: the variant the customer gets for a returned line, at the catalog's price."""

    line_id: str
    sku: str
    quantity: int
    unit_price: Amount


class PaymentRequest(BaseModel):
    """What the customer is asked to pay when the replacement costs more (a payments operation with a key)."""

    payment_request_id: str | None = None
    amount: Amount
    idempotency_key: str
    status: Literal["requested", "paid", "failed"] = "requested"


class ExchangeHold(BaseModel):
    """An instant exchange's authorization on the customer's payment for the replacement's value."""

    amount: Amount
    status: Literal["authorized", "released", "captured"] = "authorized"
    authorization_id: str | None = None


class Exchange(BaseModel):
    items: list[ExchangeLine] = Field(default_factory=list)
    price_difference: Amount = Field(
        Decimal(0),
        description="The replacements' price less the returned lines' (positive: the customer pays the "
        "difference through payment_request; negative: it is refunded as a price_difference refund item).",
    )
    payment_request: PaymentRequest | None = None
    hold: ExchangeHold | None = Field(None, description="Set for an instant exchange only.")


class TimelineEntry(BaseModel):
    status: Status
    at: datetime
    note: str = ""


class ReturnView(BaseModel):
    id: str
    order_id: str
    customer_id: str
    type: Literal["return", "exchange", "cancellation", "refund_only"] = "return"
    status: Status
    priority: Literal["normal", "high"] = "normal"
    lines: list[ReturnLine]
    decision: Decision
    logistics: Logistics
    refund: Refund
    timeline: list[TimelineEntry] = Field(default_factory=list)
    attention: Attention | None = Field(
        None, description="Set while a person must act: why, since when, and the actions offered."
    )
    exchange: Exchange | None = Field(None, description="An exchange's replacements and how their price is settled.")
    compensations: list[IssuedCompensation] = Field(
        default_factory=list, description="What the customer was given because a deadline was missed."
    )
    policy_version: int
    created_at: datetime
    updated_at: datetime


def dispute_refusal(view: ReturnView) -> str | None:
    """Why the customer cannot dispute this return now, or None when it can: only a settled return is disputed."""
    if view.status in FINAL_STATUSES:
        return None
    return f"a return that is {view.status.value} has not ended; it cannot be disputed yet"


def virtual_lines(order: Order, lines: list[ReturnLine]) -> list[ReturnLine]:
    """The returned lines that are digital goods: nothing ships back, the entitlement is revoked instead."""
    kinds = {line.line_id: line.kind for line in order.lines}
    return [line for line in lines if kinds.get(line.line_id) == "virtual"]
