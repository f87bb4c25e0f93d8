"""The activities of ReturnWorkflow: payloads and typed references, shared by the workflow and the worker.

One pydantic model per argument, as ``temporalio.contrib.pydantic`` wants. The
implementations are in ``activities/read_model.py`` (store writes, run as local
activities) and ``activities/partners.py`` (partner calls).
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.evaluation import OverriddenRule
from domain.ledger import MoneyMovement
from domain.money import Amount
from domain.returns import DropOffPoint, ReturnRequest, ReturnShipment, ReturnView, Status
from domain.tickets import TicketKind
from messages.activity_ref import ActivityRef


class SnapshotOfReturn(BaseModel):
    """The full read-model document and its revision (later revisions win)."""

    view: ReturnView
    revision: int
    # Statuses the return showed and left since its previous write, in order: each is announced too.
    passed: list[Status] = Field(default_factory=list)
    # Money moved since the previous write, into the ledger in the same transaction (runs of shape 1 on; before,
    # each payout wrote it with ``record_money``). Idempotent by each movement's key, like ``record_money``.
    money: list[MoneyMovement] = Field(default_factory=list)


class RequestedBy(BaseModel):
    """Who asked for a return, and the rules staff overrode for it: its audit entry ``return.create``."""

    actor: str = Field(description='The caller as the audit trail names it, "role:id".')
    overridden: list[OverriddenRule] = Field(default_factory=list)


class OpenReturn(SnapshotOfReturn):
    """Claim the units and write the first read-model row, in one transaction (with its audit entry, when
    ``requested_by`` says who asked)."""

    units: dict[str, int]
    request: ReturnRequest | None = None
    requested_by: RequestedBy | None = None


class ReturnRef(BaseModel):
    return_id: str


class BookShipment(BaseModel):
    """The pickup address is read from the order in the store, so it never enters Temporal history."""

    return_id: str
    order_id: str
    method: Literal["pickup", "drop_off", "mail"]
    pickup_slot: dict[str, datetime] | None = None
    booking: int = Field(1, description="1 for the first booking, then one more per rebooking (a missed pickup).")


class ShipmentBooked(BaseModel):
    carrier: str
    tracking_number: str
    label_url: str
    drop_off_token: str | None = None
    drop_off_points: list[DropOffPoint] = Field(default_factory=list)
    qr_code_url: str | None = Field(None, description="The drop-off token's QR code, an absolute URL.")


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


class RecordMoney(BaseModel):
    return_id: str
    order_id: str
    movements: list[MoneyMovement]


class OpenTicket(BaseModel):
    dedupe_key: str
    kind: TicketKind
    return_id: str | None
    summary: str
    details: dict[str, str] = {}


class ResolveTicket(BaseModel):
    dedupe_key: str
    resolution: str


class OrderRefunds(BaseModel):
    order_id: str
    excluding_return_id: str


class RefundedSoFar(BaseModel):
    per_payment: dict[str, Amount]


class ClaimTenders(BaseModel):
    """Claim ``amount`` on the order's tenders before paying it back to them (store/tender_claims.py)."""

    return_id: str
    order_id: str
    amount: Amount
    currency: str
    # The tenders of the order as the return knows it (the payout calls need their provider refs).
    payment_ids: list[str]


class TenderClaimed(BaseModel):
    payment_id: str
    amount: Amount
    idempotency_key: str


class TenderClaims(BaseModel):
    """What each tender can refund, in the order to pay; less than asked when the tenders cannot cover it."""

    claims: list[TenderClaimed]


class ReleaseTenderClaims(BaseModel):
    """Give back claims whose refund was never made (the tender refused it, or it was never tried)."""

    idempotency_keys: list[str]


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


class ReturnedLine(BaseModel):
    line_id: str
    sku: str
    quantity: int


class ShipToCustomer(BaseModel):
    """Lines going back to the customer; the address is read from the order in the store, never from history."""

    return_id: str
    order_id: str
    lines: list[ReturnedLine]


class ShippedToCustomer(BaseModel):
    shipments: list[ReturnShipment]


class RequestPayment(BaseModel):
    """Ask the customer to pay an exchange's price difference."""

    return_id: str
    customer_id: str
    idempotency_key: str
    amount: Amount
    currency: str


class PaymentRequested(BaseModel):
    payment_request_id: str


class AuthorizeHold(BaseModel):
    """Hold an instant exchange's replacement value on the customer's payment."""

    return_id: str
    idempotency_key: str
    payment_id: str
    provider_ref: str
    amount: Amount
    currency: str


class HoldAuthorized(BaseModel):
    authorization_id: str


class SettleHold(BaseModel):
    """Capture or void (release) an authorization hold."""

    return_id: str
    authorization_id: str
    idempotency_key: str


NoResult = type(None)

# Store writes and reads (local activities). Each says in words what it does (ActivityRef.describe).
OPEN_RETURN = ActivityRef(
    "open_return", OpenReturn, NoResult, lambda a: f"open the return: claim {sum(a.units.values())} unit(s)"
)
SAVE_RETURN = ActivityRef(
    "save_return", SnapshotOfReturn, NoResult, lambda a: f"save revision {a.revision}: {a.view.status.value}"
)
RELEASE_UNITS = ActivityRef("release_units", ReturnRef, NoResult, lambda a: "release the claimed units")
RECORD_MONEY = ActivityRef(
    "record_money",
    RecordMoney,
    NoResult,
    lambda a: "record " + ", ".join(f"{m.kind} {m.amount} {m.currency}" for m in a.movements),
)
REFUNDED_SO_FAR = ActivityRef(
    "refunded_so_far", OrderRefunds, RefundedSoFar, lambda a: f"what order {a.order_id} has refunded so far"
)
CLAIM_TENDERS = ActivityRef(
    "claim_tenders", ClaimTenders, TenderClaims, lambda a: f"claim {a.amount} {a.currency} on the order's payments"
)
RELEASE_TENDER_CLAIMS = ActivityRef(
    "release_tender_claims",
    ReleaseTenderClaims,
    NoResult,
    lambda a: f"release {len(a.idempotency_keys)} unpaid payment claim(s)",
)
OPEN_TICKET = ActivityRef("open_ticket", OpenTicket, NoResult, lambda a: f"open a {a.kind} ticket")
RESOLVE_TICKET = ActivityRef("resolve_ticket", ResolveTicket, NoResult, lambda a: "resolve the ticket")

# Partner calls.
BOOK_SHIPMENT = ActivityRef(
    "book_shipment",
    BookShipment,
    ShipmentBooked,
    lambda a: f"book a {a.method} shipment" + (f" (booking {a.booking})" if a.booking > 1 else ""),
)
CANCEL_SHIPMENT = ActivityRef(
    "cancel_shipment", CancelShipment, NoResult, lambda a: f"cancel shipment {a.tracking_number}"
)
SHIP_TO_CUSTOMER = ActivityRef(
    "ship_to_customer",
    ShipToCustomer,
    ShippedToCustomer,
    lambda a: f"ship {sum(ln.quantity for ln in a.lines)} item(s) back to the customer",
)
WAREHOUSE_INTAKE = ActivityRef(
    "warehouse_intake",
    WarehouseIntake,
    NoResult,
    lambda a: "warehouse intake: " + ", ".join(f"{i.quantity} {i.sku} to {i.disposition}" for i in a.lines),
)
REFUND_PAYMENT = ActivityRef(
    "refund_payment",
    RefundPayment,
    RefundIssued,
    lambda a: f"refund {a.amount} {a.currency} to payment {a.payment_id}",
)
ISSUE_STORE_CREDIT = ActivityRef(
    "issue_store_credit",
    IssueStoreCredit,
    StoreCreditIssued,
    lambda a: f"issue {a.amount} {a.currency} as store credit",
)
REVOKE_ENTITLEMENTS = ActivityRef(
    "revoke_entitlements",
    RevokeEntitlements,
    NoResult,
    lambda a: f"revoke the digital goods of {len(a.lines)} line(s)",
)
INTERCEPT_ORDER = ActivityRef(
    "intercept_order", InterceptOrder, Interception, lambda a: f"stop order {a.order_id} before it ships"
)
RESERVE_REPLACEMENTS = ActivityRef(
    "reserve_replacements",
    ReserveReplacements,
    Replacements,
    lambda a: f"reserve {sum(i.quantity for i in a.items)} replacement(s)",
)
SHIP_REPLACEMENTS = ActivityRef(
    "ship_replacements",
    Replacements,
    Shipped,
    lambda a: f"ship {len(a.reservation_ids)} reserved replacement(s)",
)
RELEASE_REPLACEMENTS = ActivityRef(
    "release_replacements",
    Replacements,
    NoResult,
    lambda a: f"release {len(a.reservation_ids)} reserved replacement(s)",
)

# Exchange payments (activities/exchange_payments.py).
REQUEST_PAYMENT = ActivityRef(
    "request_payment",
    RequestPayment,
    PaymentRequested,
    lambda a: f"ask the customer to pay the {a.amount} {a.currency} price difference",
)
AUTHORIZE_HOLD = ActivityRef(
    "authorize_hold",
    AuthorizeHold,
    HoldAuthorized,
    lambda a: f"hold {a.amount} {a.currency} on payment {a.payment_id}",
)
CAPTURE_HOLD = ActivityRef("capture_hold", SettleHold, NoResult, lambda a: "capture the replacement's hold")
VOID_HOLD = ActivityRef("void_hold", SettleHold, NoResult, lambda a: "release the replacement's hold")
