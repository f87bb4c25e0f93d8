"""The operators' queues over the read model: how much waits in each, and a queue's returns a page at a time.

A queue's page is read in the order of the ``ix_returns_queue`` index (status, priority,
status_since, id): urged returns first ("high" sorts before "normal"), then the longest
waiting, each page after the last row of the one before (keyset), never the whole queue.
"""

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.returns import ReturnView, Status
from store.cursor import decode_keyset, encode_keyset
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


async def queue_page(
    session: AsyncSession, queue: str, limit: int, cursor: str | None, attention_reason: str | None = None
) -> tuple[list[ReturnView], str | None]:
    """One page of ``queue`` (a key of ``QUEUE_STATUSES``), most urgent first; the cursor of the next page.

    ``attention_reason`` narrows the attention queue to one reason. A cursor this function
    did not hand out raises ``store.cursor.BadCursor``.
    """
    query = select(ReturnRow).where(ReturnRow.status == QUEUE_STATUSES[queue].value)
    if attention_reason is not None:
        query = query.where(ReturnRow.attention_reason == attention_reason)
    if cursor:
        after_since, [after_priority, after_id] = decode_keyset(cursor, ids=2)
        query = query.where(
            or_(
                ReturnRow.priority > after_priority,
                and_(ReturnRow.priority == after_priority, ReturnRow.status_since > after_since),
                and_(
                    ReturnRow.priority == after_priority,
                    ReturnRow.status_since == after_since,
                    ReturnRow.id > after_id,
                ),
            )
        )
    ordered = query.order_by(ReturnRow.priority, ReturnRow.status_since, ReturnRow.id).limit(limit + 1)
    rows = (await session.scalars(ordered)).all()
    page = [ReturnView.model_validate(row.document) for row in rows[:limit]]
    if len(rows) <= limit:
        return page, None
    last = rows[limit - 1]
    assert last.status_since is not None  # every write sets it (queue_columns); migration 0010 filled older rows
    return page, encode_keyset(last.status_since, last.priority, last.id)


async def attention_reason_counts(session: AsyncSession) -> dict[str, int]:
    """How many returns wait in the attention queue for each reason (the reasons with none left out)."""
    counted = await session.execute(
        select(ReturnRow.attention_reason, func.count())
        .where(ReturnRow.status == Status.NEEDS_ATTENTION.value, ReturnRow.attention_reason.is_not(None))
        .group_by(ReturnRow.attention_reason)
    )
    return {str(reason): count for reason, count in counted.all()}
