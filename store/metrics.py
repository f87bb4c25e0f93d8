"""Gathers what the return metrics need for a period."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.metrics import ReturnMetrics, compute
from domain.returns import ReturnView
from store.tables import OrderLineRow, OrderRow, ReturnRow, Ticket

# The most returns one metrics call reads; enough for a dashboard, bounded for the database.
MAX_RETURNS = 50_000


async def return_metrics(session: AsyncSession, start: datetime, end: datetime) -> ReturnMetrics:
    documents = (
        await session.scalars(
            select(ReturnRow.document)
            .where(ReturnRow.created_at >= start, ReturnRow.created_at < end)
            .limit(MAX_RETURNS)
        )
    ).all()
    views = [ReturnView.model_validate(doc) for doc in documents]
    in_period = (OrderRow.placed_at >= start, OrderRow.placed_at < end)
    orders = await session.scalar(select(func.count()).select_from(OrderRow).where(*in_period)) or 0
    per_category = (
        await session.execute(
            select(OrderLineRow.category, func.count(func.distinct(OrderLineRow.order_id)))
            .join(OrderRow, OrderRow.order_id == OrderLineRow.order_id)
            .where(*in_period)
            .group_by(OrderLineRow.category)
        )
    ).all()
    order_ids = {view.order_id for view in views}
    lines = (
        (
            await session.execute(
                select(OrderLineRow.order_id, OrderLineRow.line_id, OrderLineRow.category).where(
                    OrderLineRow.order_id.in_(order_ids)
                )
            )
        ).all()
        if order_ids
        else []
    )
    disputed = set(
        (
            await session.scalars(
                select(Ticket.return_id).where(Ticket.kind == "dispute", Ticket.return_id.is_not(None))
            )
        ).all()
    )
    return compute(
        views,
        orders,
        {category or "uncategorized": count for category, count in per_category},
        {(order_id, line_id): category for order_id, line_id, category in lines},
        {rid for rid in disputed if rid},
    )
