"""Claims on the tenders an order was paid with, so that no tender is ever refunded more than it paid.

Before a return pays out to the original tenders it claims the refund's parts here, the way it
claims units (``store/returns.py``): a conditional UPDATE that ``order_payments``' check constraint
backs up, under the refund's idempotency key, so concurrent returns of one order can never both
take the same money and a retried claim claims nothing twice. A claim the tender refused is
released. ``order_payments`` is filled when the order is upserted and keeps what was refunded.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain import idempotency_keys as keys
from domain.money import from_minor_units, to_minor_units
from domain.orders import Payment
from domain.refunds import TENDER_ORDER, allocate_refund
from store.tables import OrderPayment, TenderClaim


class ClaimRaced(Exception):
    """A tender changed between reading and claiming it; the claim is retried from the start."""


@dataclass(frozen=True)
class Claimed:
    payment_id: str
    amount: Decimal
    idempotency_key: str


async def sync_payments(session: AsyncSession, order_id: str, payments: list[Payment], currency: str) -> str | None:
    """Make the order's tenders those of ``payments``, keeping what each has refunded.

    Returns why it cannot (and changes nothing) when a tender would be left with less than was
    already refunded from it, or a refunded tender would disappear.
    """
    rows = {
        row.payment_id: row
        for row in (
            await session.scalars(select(OrderPayment).where(OrderPayment.order_id == order_id).with_for_update())
        ).all()
    }
    amounts = {payment.payment_id: to_minor_units(payment.amount, currency) for payment in payments}
    for payment_id, row in rows.items():
        if row.refunded_minor > amounts.get(payment_id, 0):
            refunded = from_minor_units(row.refunded_minor, currency)
            return f"payment {payment_id}: {refunded} {currency} of it is already refunded"
    for position, payment in enumerate(payments):
        kept = rows.pop(payment.payment_id, None)
        if kept is None:
            session.add(
                OrderPayment(
                    order_id=order_id,
                    payment_id=payment.payment_id,
                    position=position,
                    method=payment.method,
                    amount_minor=amounts[payment.payment_id],
                    refunded_minor=0,
                )
            )
        else:
            kept.position, kept.method, kept.amount_minor = position, payment.method, amounts[payment.payment_id]
    for row in rows.values():
        await session.delete(row)
    return None


async def claim(
    session: AsyncSession, return_id: str, order_id: str, amount: Decimal, currency: str, payment_ids: list[str]
) -> list[Claimed]:
    """Claim ``amount`` on the order's tenders among ``payment_ids`` (cards and wallets first); less when
    they cannot cover it.

    A return that already holds claims gets them back unchanged: a retry claims nothing twice.
    """
    # Take the order's tenders first, so that the claims of one order are made one at a time:
    # row locks on PostgreSQL, the write lock on SQLite (and what is read next is the latest).
    await session.execute(
        update(OrderPayment).where(OrderPayment.order_id == order_id).values(refunded_minor=OrderPayment.refunded_minor)
    )
    tenders = (
        await session.scalars(
            select(OrderPayment).where(OrderPayment.order_id == order_id).order_by(OrderPayment.position)
        )
    ).all()
    held = (
        await session.scalars(
            select(TenderClaim).where(TenderClaim.return_id == return_id, TenderClaim.released_at.is_(None))
        )
    ).all()
    if held:
        position = {tender.payment_id: (TENDER_ORDER.index(tender.method), tender.position) for tender in tenders}
        return [
            Claimed(c.payment_id, from_minor_units(c.amount_minor, currency), c.idempotency_key)
            for c in sorted(held, key=lambda c: position.get(c.payment_id, (len(TENDER_ORDER), 0)))
        ]
    payments = [
        Payment(
            payment_id=tender.payment_id,
            method=tender.method,  # type: ignore[arg-type]
            amount=from_minor_units(tender.amount_minor, currency),
        )
        for tender in tenders
        if tender.payment_id in payment_ids
    ]
    refunded = {tender.payment_id: from_minor_units(tender.refunded_minor, currency) for tender in tenders}
    claimed = []
    for payment, share in allocate_refund(amount, payments, refunded):
        minor = to_minor_units(share, currency)
        taken = await session.execute(
            update(OrderPayment)
            .where(
                OrderPayment.order_id == order_id,
                OrderPayment.payment_id == payment.payment_id,
                OrderPayment.refunded_minor + minor <= OrderPayment.amount_minor,
            )
            .values(refunded_minor=OrderPayment.refunded_minor + minor)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimRaced(f"payment {payment.payment_id} of order {order_id} changed while it was claimed")
        key = keys.refund_key(return_id, payment.payment_id)
        await _hold(session, key, return_id, order_id, payment.payment_id, minor)
        claimed.append(Claimed(payment.payment_id, share, key))
    return claimed


async def release(session: AsyncSession, idempotency_keys: list[str]) -> None:
    """Give the claims under ``idempotency_keys`` back to their tenders; a claim is released once."""
    for key in idempotency_keys:
        released = await session.execute(
            update(TenderClaim)
            .where(TenderClaim.idempotency_key == key, TenderClaim.released_at.is_(None))
            .values(released_at=datetime.now(UTC))
        )
        if released.rowcount != 1:  # type: ignore[attr-defined]
            continue
        held = await session.get(TenderClaim, key)
        assert held is not None
        await session.execute(
            update(OrderPayment)
            .where(OrderPayment.order_id == held.order_id, OrderPayment.payment_id == held.payment_id)
            .values(refunded_minor=OrderPayment.refunded_minor - held.amount_minor)
        )


async def count_unclaimed_refund(
    session: AsyncSession, idempotency_key: str, return_id: str, order_id: str, payment_id: str, amount_minor: int
) -> None:
    """A refund paid without a claim (by a return that was paying out before claims existed) still counts.

    Added to what its tender has refunded, once per key, at most up to what the tender paid.
    """
    if await session.get(TenderClaim, idempotency_key) is not None:
        return
    where = (OrderPayment.order_id == order_id, OrderPayment.payment_id == payment_id)
    taken = await session.execute(
        update(OrderPayment)
        .where(*where, OrderPayment.refunded_minor + amount_minor <= OrderPayment.amount_minor)
        .values(refunded_minor=OrderPayment.refunded_minor + amount_minor)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        await session.execute(update(OrderPayment).where(*where).values(refunded_minor=OrderPayment.amount_minor))
    await _hold(session, idempotency_key, return_id, order_id, payment_id, amount_minor)


async def refunded_per_tender(session: AsyncSession, order_id: str, currency: str) -> dict[str, Decimal]:
    rows = (await session.scalars(select(OrderPayment).where(OrderPayment.order_id == order_id))).all()
    return {row.payment_id: from_minor_units(row.refunded_minor, currency) for row in rows}


async def _hold(
    session: AsyncSession, key: str, return_id: str, order_id: str, payment_id: str, amount_minor: int
) -> None:
    """Record the claim under its key (a claim released before is taken up again)."""
    existing = await session.get(TenderClaim, key)
    now = datetime.now(UTC)
    if existing is None:
        session.add(
            TenderClaim(
                idempotency_key=key,
                return_id=return_id,
                order_id=order_id,
                payment_id=payment_id,
                amount_minor=amount_minor,
                released_at=None,
                created_at=now,
            )
        )
    else:
        existing.amount_minor, existing.released_at, existing.created_at = amount_minor, None, now
