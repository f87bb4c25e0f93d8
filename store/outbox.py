"""The event outbox: every status change of a return, recorded with what must be sent about it.

Every status change of a return's read model writes one ``OutboxEvent`` in the
same transaction as the change (``announce``, called by ``store.returns``), with
one ``WebhookDelivery`` per active endpoint subscribed to its type
(``store/webhook_endpoints.py``) and, for the statuses a customer hears about
(``CUSTOMER_FACING``), one ``CustomerNotification``. Nothing is sent here:
``DeliverWebhooksWorkflow`` (scheduled every few seconds) takes what is due and
sends it (``activities/webhooks.py`` with ``store/webhook_deliveries.py``,
``activities/customer_notifications.py`` with ``store/customer_notifications.py``).
"""

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.returns import ReturnView, Status
from store.tables import CustomerNotification, OutboxEvent, WebhookDelivery, WebhookEndpoint

EVENT_TYPES: tuple[str, ...] = tuple(f"return.{status.value}" for status in Status)
# What the customer is told about; the other statuses are internal steps.
CUSTOMER_FACING = frozenset(
    {
        Status.APPROVED,
        Status.AWAITING_SHIPMENT,
        Status.RECEIVED,
        Status.COMPLETED,
        Status.REJECTED,
        Status.CANCELED,
        Status.EXPIRED,
    }
)


# Not a status: the customer was given a compensation for a missed deadline (their message says what).
COMPENSATION_ISSUED = "return.compensation_issued"


def event_type(status: Status) -> str:
    return f"return.{status.value}"


async def announce(session: AsyncSession, view: ReturnView, kind: str | None = None) -> str:
    """Record the event "this return is now ``view.status``" (or another ``kind`` of event about it) with
    its deliveries; the caller's transaction commits.

    Returns the event id.
    """
    now = datetime.now(UTC)
    kind = kind or event_type(view.status)
    event = OutboxEvent(
        id="evt_" + secrets.token_hex(16),
        type=kind,
        return_id=view.id,
        payload=view.model_dump(mode="json"),
        created_at=now,
    )
    session.add(event)
    await session.flush()  # the deliveries reference the event
    subscribed = (await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None)))).all()
    for endpoint in subscribed:
        if kind in endpoint.events:
            session.add(
                WebhookDelivery(
                    event_id=event.id,
                    endpoint_id=endpoint.id,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    last_error=None,
                    delivered_at=None,
                )
            )
    if kind == COMPENSATION_ISSUED or (kind == event_type(view.status) and view.status in CUSTOMER_FACING):
        session.add(CustomerNotification(event_id=event.id, state="pending", attempts=0, last_error=None, sent_at=None))
    return event.id
