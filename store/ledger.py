"""The money ledger: every refund, store credit, fee, kept deposit and compensation, tied to its return."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.money import Amount, from_minor_units, to_minor_units
from domain.returns import RefundItem
from store.db import as_utc, upserting_insert
from store.tables import LedgerEntry, table_of

_LEDGER = table_of(LedgerEntry)


class MoneyLine(BaseModel):
    """A ledger row as ``GET /v1/returns/{id}`` shows it."""

    kind: str
    amount: Amount
    currency: str
    payment_id: str | None
    provider_ref: str | None
    credit_note: str | None
    idempotency_key: str
    created_at: datetime
    # A payout's credit note lines: what it paid for (goods, tax, shipping, shipping tax).
    items: list[RefundItem] = Field(default_factory=list)


async def record_movement(
    session: AsyncSession,
    return_id: str,
    order_id: str,
    *,
    idempotency_key: str,
    kind: str,
    amount: Decimal,
    currency: str,
    payment_id: str | None = None,
    provider_ref: str | None = None,
    credit_note: str | None = None,
    items: list[RefundItem] | None = None,
) -> bool:
    """Add the row unless its idempotency key is already in the ledger; True when it was added. One statement:
    the key's uniqueness decides (another unique column that clashes, a credit note, still fails)."""
    added = await session.execute(
        upserting_insert(session)(_LEDGER)
        .values(
            idempotency_key=idempotency_key,
            return_id=return_id,
            order_id=order_id,
            kind=kind,
            payment_id=payment_id,
            amount_minor=to_minor_units(amount, currency),
            currency=currency,
            provider_ref=provider_ref,
            credit_note=credit_note,
            items=[item.model_dump(mode="json") for item in items] if items else None,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return bool(added.rowcount == 1)  # type: ignore[attr-defined]


# What a MoneyLine is read from, for money_lines and for a read that joins the ledger (store.returns.stored_return).
MONEY_LINE_COLUMNS = (
    LedgerEntry.kind,
    LedgerEntry.amount_minor,
    LedgerEntry.currency,
    LedgerEntry.payment_id,
    LedgerEntry.provider_ref,
    LedgerEntry.credit_note,
    LedgerEntry.idempotency_key,
    LedgerEntry.created_at,
    LedgerEntry.items,
)


def money_line(row: Row[Any]) -> MoneyLine:
    """The line of a row holding ``MONEY_LINE_COLUMNS``."""
    return MoneyLine(
        kind=row.kind,
        amount=from_minor_units(row.amount_minor, row.currency),
        currency=row.currency,
        payment_id=row.payment_id,
        provider_ref=row.provider_ref,
        credit_note=row.credit_note,
        idempotency_key=row.idempotency_key,
        created_at=as_utc(row.created_at),
        items=[RefundItem.model_validate(item) for item in row.items or []],
    )


async def money_lines(session: AsyncSession, return_id: str) -> list[MoneyLine]:
    rows = await session.execute(
        select(*MONEY_LINE_COLUMNS).where(LedgerEntry.return_id == return_id).order_by(LedgerEntry.id)
    )
    return [money_line(row) for row in rows]


async def refunded_per_payment(session: AsyncSession, order_id: str, excluding_return_id: str) -> dict[str, Decimal]:
    """What the order's other returns refunded to each tender."""
    rows = (
        await session.execute(
            select(LedgerEntry.payment_id, LedgerEntry.amount_minor, LedgerEntry.currency).where(
                LedgerEntry.order_id == order_id,
                LedgerEntry.kind == "refund",
                LedgerEntry.return_id != excluding_return_id,
            )
        )
    ).all()
    totals: dict[str, Decimal] = {}
    for payment_id, amount_minor, currency in rows:
        if payment_id:
            totals[payment_id] = totals.get(payment_id, Decimal(0)) + from_minor_units(amount_minor, currency)
    return totals
