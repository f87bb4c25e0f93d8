"""Customer notifications: one per event the customer hears about (``store/outbox.py``), sent through the
notifications partner until sent, or given up (``failed``), in the language of the return's order.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.languages import Language, known_language
from domain.notifications import NotificationKind
from store.tables import CustomerNotification, OrderRow, OutboxEvent, ReturnRow


@dataclass(frozen=True)
class DueNotification:
    event_id: str
    kind: NotificationKind
    attempts: int
    view: dict[str, Any]
    language: Language | None


async def due_notifications(session: AsyncSession, limit: int) -> list[DueNotification]:
    rows = (
        await session.execute(
            select(CustomerNotification, OutboxEvent, OrderRow.language)
            .join(OutboxEvent, OutboxEvent.id == CustomerNotification.event_id)
            .outerjoin(ReturnRow, ReturnRow.id == OutboxEvent.return_id)
            .outerjoin(OrderRow, OrderRow.order_id == ReturnRow.order_id)
            .where(CustomerNotification.state == "pending")
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(limit)
        )
    ).all()
    return [
        DueNotification(
            event_id=event.id,
            kind=NotificationKind(event.type.removeprefix("return.")),
            attempts=notification.attempts,
            view=event.payload,
            language=known_language(language),
        )
        for notification, event, language in rows
    ]


async def record_notification(
    session: AsyncSession, due: DueNotification, *, error: str | None, final: bool, now: datetime
) -> str:
    """Write the outcome of one send; ``final`` gives up on a failure (``failed``). Returns the new state."""
    values: dict[str, Any] = dict(attempts=due.attempts + 1)
    if error is None:
        values.update(state="sent", sent_at=now, last_error=None)
    else:
        values.update(state="failed" if final else "pending", last_error=error[:1000])
    await session.execute(
        update(CustomerNotification)
        .where(CustomerNotification.event_id == due.event_id, CustomerNotification.state == "pending")
        .values(**values)
    )
    return str(values["state"])
