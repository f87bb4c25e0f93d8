"""A customer's history in the store, as the risk assessment needs it."""

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.returns import ReturnView
from domain.risk import BAD_CONDITIONS, CustomerHistory
from store.tables import OrderRow, ReturnRow, Ticket

NOT_RETURNED = frozenset({"rejected", "canceled", "expired"})


async def customer_history(session: AsyncSession, customer_id: str, since: datetime) -> CustomerHistory:
    orders = (
        await session.scalar(
            select(func.count())
            .select_from(OrderRow)
            .where(OrderRow.customer_id == customer_id, OrderRow.placed_at >= since)
        )
        or 0
    )
    documents = (
        await session.scalars(
            select(ReturnRow.document).where(ReturnRow.customer_id == customer_id, ReturnRow.created_at >= since)
        )
    ).all()
    views = [ReturnView.model_validate(doc) for doc in documents]
    kept = [view for view in views if view.status.value not in NOT_RETURNED]
    # Disputes still open now, of any of the customer's returns (however old the return).
    open_disputes = (
        await session.scalar(
            select(func.count())
            .select_from(Ticket)
            .join(ReturnRow, ReturnRow.id == Ticket.return_id)
            .where(ReturnRow.customer_id == customer_id, Ticket.kind == "dispute", Ticket.status == "open")
        )
        or 0
    )
    return CustomerHistory(
        orders=orders,
        returns=len(kept),
        bad_inspections=sum(1 for view in kept for line in view.lines if line.condition in BAD_CONDITIONS),
        open_disputes=open_disputes,
        methods_used=dict(Counter(view.logistics.method for view in kept)),
    )
