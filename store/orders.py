"""Orders synced from the order system, and the units still returnable per line."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from domain.languages import known_language
from domain.metrics import order_counted_under
from domain.money import from_minor_units, to_minor_units
from domain.orders import Address, Order, OrderIn, OrderLine, Payment, Shipping
from store import metrics, tender_claims
from store.db import as_utc, upserting_insert
from store.tables import OrderLineRow, OrderRow


class OrderConflict(Exception):
    """The update would leave a line with fewer units than returns already hold."""


async def upsert_order(session: AsyncSession, order_id: str, order: OrderIn) -> bool:
    """Insert or replace the order; returns True when it was new.

    Returns may be claiming units of its lines at the same moment, so the lines are
    updated in place under a lock and ``claimed_quantity`` is never written here: a
    line keeps the claims the database holds for it, whatever was read before. The
    order's row and then its lines are locked (``FOR UPDATE`` on PostgreSQL; on
    SQLite the insert-if-absent, a write, comes first and so takes the database's
    write lock before anything is read), so a claim waits for the upsert or the
    upsert for the claim, and the rules below are judged on the claims as they are.
    """
    fields = dict(
        customer_id=order.customer_id,
        currency=order.currency,
        placed_at=order.placed_at,
        fulfillment_status=order.fulfillment_status,
        delivered_at=order.delivered_at,
        payments=[p.model_dump(mode="json") for p in order.payments],
        shipping_address=order.shipping_address.model_dump(mode="json") if order.shipping_address else None,
        shipping_minor=to_minor_units(order.shipping.amount, order.currency) if order.shipping else None,
        shipping_tax_minor=to_minor_units(order.shipping.tax, order.currency) if order.shipping else None,
        language=order.language,
        updated_at=datetime.now(UTC),
    )
    # First, and a write (see above). Two first PUTs of one order may race: one inserts, the other finds the row.
    inserted = await session.execute(_insert_if_absent(session, order_id, fields))
    created = inserted.rowcount == 1  # type: ignore[attr-defined]
    row = await session.get(OrderRow, order_id, with_for_update=True, populate_existing=True)
    assert row is not None
    stored = {
        line.line_id: line
        for line in await session.scalars(
            select(OrderLineRow)
            .where(OrderLineRow.order_id == order_id)
            .order_by(OrderLineRow.line_id)  # one locking order for every writer: no deadlock between them
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for line in order.lines:
        held = stored[line.line_id].claimed_quantity if line.line_id in stored else 0
        if line.quantity < held:
            raise OrderConflict(f"line {line.line_id}: {held} units are already in returns")
    dropped = set(stored) - {line.line_id for line in order.lines}
    if any(stored[line_id].claimed_quantity for line_id in dropped):
        raise OrderConflict(f"lines {sorted(dropped)} have units in returns and cannot be removed")
    counted_before = (
        frozenset()
        if created
        else order_counted_under(row.placed_at, [(line.sku, line.category) for line in stored.values()])
    )
    if not created:
        for name, value in fields.items():
            setattr(row, name, value)
    for line_id in dropped:
        await session.delete(stored[line_id])
    # The tenders refunds are claimed on; what they have refunded stays (store/tender_claims.py).
    tenders_conflict = await tender_claims.sync_payments(session, order_id, order.payments, order.currency)
    if tenders_conflict:
        raise OrderConflict(tenders_conflict)
    for position, line in enumerate(order.lines):
        values = dict(
            position=position,
            sku=line.sku,
            product_id=line.product_id,
            title=line.title,
            category=line.category,
            kind=line.kind,
            quantity=line.quantity,
            unit_price_minor=to_minor_units(line.unit_price, order.currency),
            final_sale=line.final_sale,
            tax_minor=to_minor_units(line.tax, order.currency),
        )
        existing = stored.get(line.line_id)
        if existing is None:
            session.add(OrderLineRow(order_id=order_id, line_id=line.line_id, claimed_quantity=0, **values))
        else:
            for name, value in values.items():
                setattr(existing, name, value)
    # Last: a day's counts are rows other orders write too, locked from here to the commit.
    counted_now = order_counted_under(order.placed_at, [(line.sku, line.category) for line in order.lines])
    await metrics.recount_order(session, counted_before, counted_now)
    return created


def _insert_if_absent(session: AsyncSession, order_id: str, fields: dict[str, Any]) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` for the order's row, in the session's dialect."""
    insert = upserting_insert(session)(OrderRow).values(order_id=order_id, **fields)
    return insert.on_conflict_do_nothing(index_elements=["order_id"])


async def shipping_address(connection: AsyncConnection, order_id: str) -> Address | None:
    """Where the order went (a parcel's pickup or return address): one column of one row, one statement."""
    stored = await connection.scalar(select(OrderRow.shipping_address).where(OrderRow.order_id == order_id))
    return Address.model_validate(stored) if stored else None


async def get_order(session: AsyncSession, order_id: str) -> tuple[Order, dict[str, int]] | None:
    """The order and, per line, the units already held by returns."""
    row = await session.get(OrderRow, order_id)
    if row is None:
        return None
    line_rows = (
        await session.scalars(
            select(OrderLineRow).where(OrderLineRow.order_id == order_id).order_by(OrderLineRow.position)
        )
    ).all()
    order = Order(
        order_id=row.order_id,
        customer_id=row.customer_id,
        currency=row.currency,
        placed_at=as_utc(row.placed_at),
        fulfillment_status=row.fulfillment_status,  # type: ignore[arg-type]
        delivered_at=as_utc(row.delivered_at) if row.delivered_at else None,
        payments=[Payment.model_validate(p) for p in row.payments],
        shipping_address=row.shipping_address,  # type: ignore[arg-type]
        shipping=(
            Shipping(
                amount=from_minor_units(row.shipping_minor, row.currency),
                tax=from_minor_units(row.shipping_tax_minor or 0, row.currency),
            )
            if row.shipping_minor is not None
            else None
        ),
        language=known_language(row.language),
        lines=[
            OrderLine(
                line_id=r.line_id,
                sku=r.sku,
                product_id=r.product_id,
                title=r.title,
                category=r.category,
                kind=r.kind,
                quantity=r.quantity,
                unit_price=from_minor_units(r.unit_price_minor, row.currency),  # type: ignore[arg-type]
                final_sale=r.final_sale,
                tax=from_minor_units(r.tax_minor, row.currency),  # type: ignore[arg-type]
            )
            for r in line_rows
        ],
    )
    return order, {r.line_id: r.claimed_quantity for r in line_rows}
