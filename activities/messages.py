"""Names and payloads of the activities, shared by the workflow and the worker.

One pydantic model per argument, as ``temporalio.contrib.pydantic`` wants.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from domain.money import Amount
from domain.returns import ReturnRequest, ReturnView

OPEN_RETURN = "open_return"
SAVE_RETURN = "save_return"
RELEASE_UNITS = "release_units"
BOOK_SHIPMENT = "book_shipment"
CANCEL_SHIPMENT = "cancel_shipment"
WAREHOUSE_INTAKE = "warehouse_intake"
REFUND_PAYMENT = "refund_payment"

# ApplicationError types the workflow reacts to.
NOT_RETURNABLE = "NotReturnable"


class SnapshotOfReturn(BaseModel):
    """The full read-model document and its revision (later revisions win)."""

    view: ReturnView
    revision: int


class OpenReturn(SnapshotOfReturn):
    """Claim the units and write the first read-model row, in one transaction."""

    units: dict[str, int]
    request: ReturnRequest | None = None


class ReturnRef(BaseModel):
    return_id: str


class BookShipment(BaseModel):
    """The pickup address is read from the order in the store, so it never enters Temporal history."""

    return_id: str
    order_id: str
    method: Literal["pickup", "drop_off", "mail"]
    pickup_slot: dict[str, datetime] | None = None


class ShipmentBooked(BaseModel):
    carrier: str
    tracking_number: str
    label_url: str


class CancelShipment(BaseModel):
    return_id: str
    tracking_number: str


class IntakeItem(BaseModel):
    sku: str
    quantity: int
    condition: str
    disposition: str


class WarehouseIntake(BaseModel):
    return_id: str
    lines: list[IntakeItem]


class RefundPayment(BaseModel):
    return_id: str
    idempotency_key: str
    payment_id: str
    provider_ref: str
    amount: Amount
    currency: str


class RefundIssued(BaseModel):
    refund_id: str


ISSUE_STORE_CREDIT = "issue_store_credit"
REVOKE_ENTITLEMENTS = "revoke_entitlements"
RECORD_MONEY = "record_money"
REFUNDED_SO_FAR = "refunded_so_far"
INTERCEPT_ORDER = "intercept_order"
RESERVE_REPLACEMENTS = "reserve_replacements"
SHIP_REPLACEMENTS = "ship_replacements"
RELEASE_REPLACEMENTS = "release_replacements"
OPEN_TICKET = "open_ticket"


class IssueStoreCredit(BaseModel):
    return_id: str
    customer_id: str
    idempotency_key: str
    amount: Amount
    currency: str


class StoreCreditIssued(BaseModel):
    store_credit_id: str


class EntitlementLine(BaseModel):
    line_id: str
    sku: str
    quantity: int


class RevokeEntitlements(BaseModel):
    return_id: str
    order_id: str
    lines: list[EntitlementLine]


class MoneyMovement(BaseModel):
    """One ledger row. Positive: paid out to the customer; negative: kept by the merchant."""

    idempotency_key: str
    kind: Literal["refund", "store_credit", "fee", "deposit_kept"]
    amount: Amount
    currency: str
    payment_id: str | None = None
    provider_ref: str | None = None
    credit_note: str | None = None


class RecordMoney(BaseModel):
    return_id: str
    order_id: str
    movements: list[MoneyMovement]


class OpenTicket(BaseModel):
    dedupe_key: str
    kind: Literal["refund_failed", "reconciliation", "sla_breach", "dispute", "compensation_failed"]
    return_id: str | None
    summary: str
    details: dict[str, str] = {}


class OrderRefunds(BaseModel):
    order_id: str
    excluding_return_id: str


class RefundedSoFar(BaseModel):
    per_payment: dict[str, Amount]


class InterceptOrder(BaseModel):
    return_id: str
    order_id: str


class Interception(BaseModel):
    intercepted: bool
    reason: str = ""


class Replacement(BaseModel):
    line_id: str
    sku: str
    quantity: int


class ReserveReplacements(BaseModel):
    return_id: str
    items: list[Replacement]


class Replacements(BaseModel):
    """Reservation ids when every item is held; otherwise the skus out of stock (and nothing held)."""

    return_id: str
    reservation_ids: list[str] = []
    out_of_stock: list[str] = []


class Shipped(BaseModel):
    tracking_numbers: list[str]
