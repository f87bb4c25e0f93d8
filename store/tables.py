"""SQLAlchemy models. Money columns are integer minor units."""

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: DateTime(timezone=True), dict[str, Any]: JSON, list[Any]: JSON}


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OrderRow(Base):
    __tablename__ = "orders"
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    placed_at: Mapped[datetime]
    fulfillment_status: Mapped[str] = mapped_column(String(16))
    delivered_at: Mapped[datetime | None]
    payments: Mapped[list[Any]]
    shipping_address: Mapped[dict[str, Any] | None]
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
    claimed_quantity: Mapped[int] = mapped_column(default=0)


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
    __table_args__ = (Index("ix_returns_created", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    tracking_number: Mapped[str | None] = mapped_column(String(128), index=True)
    document: Mapped[dict[str, Any]]
    # What the caller asked for, kept so a candidate policy can be simulated against real history.
    request: Mapped[dict[str, Any] | None]
    # Bumped by every write; a late, retried write of an older state never overwrites a newer one.
    revision: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PolicyVersion(Base):
    __tablename__ = "policies"
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what that bypassed or changed the rules (overrides, policy changes, key changes)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    details: Mapped[dict[str, Any]]
