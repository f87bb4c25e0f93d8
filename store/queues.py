"""The operators' queues over the read model: how much waits in each (the console's navigation)."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.returns import Status
from store.tables import ReturnRow, Ticket

# Each queue of returns is the returns showing one status.
QUEUE_STATUSES = {
    "review": Status.UNDER_REVIEW,
    "attention": Status.NEEDS_ATTENTION,
    "inspection": Status.RECEIVED,
}


@dataclass(frozen=True)
class QueueCounts:
    review: int
    attention: int
    inspection: int
    tickets: int


async def queue_counts(session: AsyncSession) -> QueueCounts:
    """One query over the status index for the returns, one for the open tickets."""
    per_status = dict(
        (
            await session.execute(
                select(ReturnRow.status, func.count())
                .where(ReturnRow.status.in_([status.value for status in QUEUE_STATUSES.values()]))
                .group_by(ReturnRow.status)
            )
        ).all()
    )
    open_tickets = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.status == "open"))
    counts = {name: per_status.get(status.value, 0) for name, status in QUEUE_STATUSES.items()}
    return QueueCounts(**counts, tickets=open_tickets or 0)
