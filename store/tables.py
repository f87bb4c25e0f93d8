"""SQLAlchemy models. Money columns are integer minor units."""

from datetime import date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # none_as_null: a Python None is SQL NULL, so "IS NULL" finds it (not the JSON value null).
    type_annotation_map: ClassVar = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON(none_as_null=True),
        list[Any]: JSON(none_as_null=True),
    }


def table_of(model: type[Base]) -> Table:
    """The table of a mapped class, for plain SQL statements over it: the hot writes of a return's save use
    those, not ORM statements, whose per-statement work ran while SQLite's write lock was held."""
    return cast(Table, model.__table__)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OperatorRow(Base):
    """A person who works in the console: a name, a password hash (argon2id), the language they read."""

    __tablename__ = "operators"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A logged-in browser: the cookie holds the token, the row its hash, the form token and when it was last used."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class OrderRow(Base):
    __tablename__ = "orders"
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    placed_at: Mapped[datetime] = mapped_column(index=True)
    fulfillment_status: Mapped[str] = mapped_column(String(16))
    delivered_at: Mapped[datetime | None]
    payments: Mapped[list[Any]]
    shipping_address: Mapped[dict[str, Any] | None]
    # What the customer paid for shipping and its tax; NULL when the order system sent no shipping.
    shipping_minor: Mapped[int | None] = mapped_column(BigInteger)
    shipping_tax_minor: Mapped[int | None] = mapped_column(BigInteger)
    # The language the customer reads (domain/languages.py); NULL when the order system named none.
    language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class OrderLineRow(Base):
    """One order line; ``claimed_quantity`` counts units held by open or finished returns.

    The check constraint is what keeps a unit from being returned twice, however
    many requests race: a claim is a conditional UPDATE that the database refuses
    to take past ``quantity``.
    """

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("claimed_quantity >= 0 AND claimed_quantity <= quantity", name="claimed_within_quantity"),
    )
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int]
    sku: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[str] = mapped_column(String(128), default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    final_sale: Mapped[bool]
    # The line's total tax (all its units).
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    claimed_quantity: Mapped[int] = mapped_column(default=0)


class OrderPayment(Base):
    """One tender an order was paid with, and how much of it returns have claimed to refund.

    Filled when the order is upserted (``refunded_minor`` survives upserts). As with units, the check
    constraint is what keeps a tender from being refunded more than it paid however many payouts race:
    a claim is a conditional UPDATE that the database refuses to take past ``amount_minor``.
    """

    __tablename__ = "order_payments"
    __table_args__ = (
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refunded_within_amount"),
    )
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id", ondelete="CASCADE"), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int]  # in the order's payments: tenders of one method are refunded in this order
    method: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class TenderClaim(Base):
    """The part of one tender a return claimed to refund, under the refund's idempotency key.

    A retried claim finds its rows and claims nothing twice; a claim released (the tender refused the
    refund) gives its amount back once.
    """

    __tablename__ = "tender_claims"
    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    return_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    payment_id: Mapped[str] = mapped_column(String(128))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ReturnClaim(Base):
    """The units one return holds on one order line (makes claiming idempotent)."""

    __tablename__ = "return_claims"
    return_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int]


class ReturnRow(Base):
    """The read model of one return: indexed columns for filters, the full view as JSON."""

    __tablename__ = "returns"
    __table_args__ = (
        Index("ix_returns_created", "created_at", "id"),
        # Each filter of the list with its rows already in the list's order (newest first), so that a page
        # reads its rows and stops, however many returns the filter matches (bench/reads.py).
        Index("ix_returns_status_created", "status", "created_at", "id"),
        Index("ix_returns_customer_created", "customer_id", "created_at", "id"),
        Index("ix_returns_order_created", "order_id", "created_at", "id"),
        Index("ix_returns_queue", "status", "priority", "status_since", "id"),
        # Covers what the metrics count per day of a period, so that they never read the documents.
        Index("ix_returns_metrics", "created_at", "auto_approved", "refund_hours", "id"),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # order_id, customer_id and status are indexed with created_at (above), which also serves them alone.
    order_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(128), index=True)
    # For the operators' queues: urged (high) first, the attention's reason, since when in this status.
    priority: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")
    attention_reason: Mapped[str | None] = mapped_column(String(32))
    status_since: Mapped[datetime | None]
    # What the metrics count (domain/metrics.py), copied onto the return's line facts too.
    auto_approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    refund_hours: Mapped[float | None]
    document: Mapped[dict[str, Any]]
    # What the caller asked for, kept so a candidate policy can be simulated against real history.
    request: Mapped[dict[str, Any] | None]
    # Bumped by every write; a late, retried write of an older state never overwrites a newer one.
    revision: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReturnLineFact(Base):
    """One returned line as the metrics count it (``domain.metrics.LineFact``), written with the return's first row.

    ``created_at``, ``auto_approved`` and ``refund_hours`` are the return's, copied here (and kept equal by
    ``store.metrics.update_return_facts``) so that the counts per SKU and per category read this table alone.
    It is read by period: its key starts with ``created_at``, and SQLite stores it in key order (no rowid).
    """

    __tablename__ = "return_line_facts"
    __table_args__ = ({"sqlite_with_rowid": False},)
    created_at: Mapped[datetime] = mapped_column(primary_key=True)
    return_id: Mapped[str] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True, index=True)
    line_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sku: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    first_for_sku: Mapped[bool]
    first_for_category: Mapped[bool]
    auto_approved: Mapped[bool]
    refund_hours: Mapped[float | None]


class DailyOrderCount(Base):
    """Orders placed on one day (UTC): in all, per category and per SKU; the return rates' denominators.

    Kept by ``store.orders.upsert_order`` (``domain.metrics.order_counted_under`` says what an order counts
    under). Orders outnumber returns several times over, and counting the distinct orders per SKU of a period
    from the order lines is what would make the metrics slow; the whole days of a period are read here, the
    part days at its ends from the orders themselves. SQLite stores it in key order (no rowid).
    """

    __tablename__ = "daily_order_counts"
    __table_args__ = ({"sqlite_with_rowid": False},)
    day: Mapped[date] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)  # all | category | sku
    value: Mapped[str] = mapped_column(String(128), primary_key=True)  # the category or SKU; "" for all
    orders: Mapped[int]


class PolicyVersion(Base):
    __tablename__ = "policies"
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who decided or did what: to a return (create, review, inspection, cancel, urge, dispute) or to the rules."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(160))  # "<role>:<id>", as one string
    actor_role: Mapped[str] = mapped_column(String(16))  # service | operator | customer | system
    actor_id: Mapped[str] = mapped_column(String(140))  # the API key's id, the customer's id, "cli"
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    details: Mapped[dict[str, Any]]


class IdempotencyKey(Base):
    """The first answer to a creating POST, replayed for the same caller, key and body (kept ≥ 24 h)."""

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)  # the caller (API key id or customer)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_flight | done
    response_status: Mapped[int | None]
    response_headers: Mapped[dict[str, Any] | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # Until when the request that holds the key in flight is presumed alive; it renews this while it runs.
    # NULL on rows claimed before leases were renewed: those lapse at created_at + the lock timeout.
    leased_until: Mapped[datetime | None]


class RateBucket(Base):
    """One caller's token bucket for one rate limit, shared by every API process (``store/rate_limits.py``)."""

    __tablename__ = "rate_buckets"
    limit_name: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. "create", "console_login"
    caller: Mapped[str] = mapped_column(String(255), primary_key=True)
    # When the bucket is full again, in seconds since the epoch: each request taken moves it one interval on.
    full_at: Mapped[float] = mapped_column(Double)


class LedgerEntry(Base):
    """One movement of money tied to a return: refund, store credit, fee, deposit.

    ``idempotency_key`` is unique, so recording the same movement twice is a no-op.
    Amounts are signed minor units from the merchant's point of view: money paid
    out to the customer is positive, money kept (fees, kept deposits) is negative.
    """

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    return_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # refund | store_credit | fee | deposit_kept
    payment_id: Mapped[str | None] = mapped_column(String(128))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    credit_note: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A payout row's credit note lines: [{"kind": "goods|tax|shipping|shipping_tax", "line_id", "amount"}].
    items: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


class Ticket(Base):
    """Work for a person: a refund that failed, a reconciliation mismatch, an SLA breach, a dispute."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_created", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Set when a ticket must be opened at most once for its cause (e.g. "refund_failed:ret_…").
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    return_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | resolved
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(2000))


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[Any]]
    # The signing secret, sealed with the codec keys and bound to the endpoint's id (store/webhook_endpoints.py).
    encrypted_secret: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class OutboxEvent(Base):
    """A lifecycle event, written in the same transaction as the read-model change it announces."""

    __tablename__ = "outbox_events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # evt_…, unique per event
    type: Mapped[str] = mapped_column(String(64), index=True)
    return_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class WebhookDelivery(Base):
    """One event to one endpoint: retried with backoff, then dead-lettered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None]


class CustomerNotification(Base):
    """A customer-facing event to tell the customer about (through the notifications partner), best effort."""

    __tablename__ = "customer_notifications"
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None]
    # domain.notifications.once_key: a status is told once per return, a compensation once. NULL on older rows.
    once_key: Mapped[str | None] = mapped_column(String(255), unique=True)


class ReturnSubmission(Base):
    """What the customer wrote and attached (comments, evidence links): personal data.

    Kept here only, never sent to Temporal (the workflow gets placeholders), so
    erasing a customer is a database update.
    """

    __tablename__ = "return_submissions"
    return_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    lines: Mapped[list[Any]]
    created_at: Mapped[datetime]


class SurveyAnswerRow(Base):
    """A customer's answer to an ended return's survey: one per return (the primary key keeps it so)."""

    __tablename__ = "survey_answers"
    __table_args__ = (CheckConstraint("score >= 1 AND score <= 5", name="score_from_1_to_5"),)
    return_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    score: Mapped[int]
    # The customer's words: personal data, kept here only (the audit trail names the score).
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(index=True)


class EvidenceRow(Base):
    """An uploaded photo: who sent it, its hashes and size, when it was taken; the file is in EvidenceFiles."""

    __tablename__ = "evidence"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # 64-bit perceptual hash in hexadecimal: near-identical photos are a few bits apart.
    phash: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    # EXIF DateTimeOriginal (read as UTC); kept here only, since the file kept has its location removed.
    taken_at: Mapped[datetime | None]
    # The first return the photo was submitted with (NULL until then).
    return_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
