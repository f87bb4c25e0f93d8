"""The event outbox: every status change of a return, recorded with what must be sent about it.

Every status change of a return's read model writes one ``OutboxEvent`` in the
same transaction as the change (``announce``, called by ``store.returns``), with
one ``WebhookDelivery`` per active endpoint subscribed to its type
(``store/webhook_endpoints.py``) and, for the statuses a customer hears about
(``domain.notifications.STATUS_NOTIFICATIONS``), one ``CustomerNotification``, the
first time the return reaches that status only (its unique ``once_key``). A compensation
issued to the customer is an event of its own (``announce_compensation``). Nothing is sent here:
``DeliverWebhooksWorkflow`` (scheduled every few seconds) takes what is due and
sends it (``activities/webhooks.py`` with ``store/webhook_deliveries.py``,
``activities/customer_notifications.py`` with ``store/customer_notifications.py``).

Events are not kept for ever: ``prune_finished_events`` (the prune-outbox schedule) deletes
old ones whose sending is over (``_finished_before``).
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.notifications import STATUS_NOTIFICATIONS, NotificationKind, once_key
from domain.returns import FINAL_STATUSES, ReturnView, Status
from store.db import upserting_insert
from store.tables import CustomerNotification, OutboxEvent, ReturnRow, WebhookDelivery, WebhookEndpoint, table_of

COMPENSATION_EVENT = f"return.{NotificationKind.COMPENSATION_ISSUED.value}"
EVENT_TYPES: tuple[str, ...] = (*(f"return.{status.value}" for status in Status), COMPENSATION_EVENT)


def event_type(status: Status) -> str:
    return f"return.{status.value}"


async def announce(session: AsyncSession, view: ReturnView, statuses: Sequence[Status] = ()) -> list[str]:
    """Record the events "this return is now …", one per status of ``statuses`` in order (the view's own status
    when none are given), each with its deliveries; the caller's transaction commits.

    Several statuses are those a return passed in one write; each event carries the view as it is now.
    All the events of a write go in one insert (and their deliveries and notifications in one each): on
    SQLite every statement is a trip to the driver's thread with the write lock held. Returns the event ids.
    """
    return await _record(
        session, view, [(event_type(status), _notification_key(view, status)) for status in statuses or [view.status]]
    )


def _notification_key(view: ReturnView, status: Status) -> str | None:
    told = STATUS_NOTIFICATIONS.get(status)
    return once_key(view.id, told) if told else None


async def announce_compensation(session: AsyncSession, view: ReturnView, compensation_key: str) -> str | None:
    """Record that a compensation was issued (the newest of ``view.compensations``) and tell the customer,
    once per ``compensation_key`` (the promotion's idempotency key): a retried call records nothing.

    Returns the event id, None when it was already recorded. Call it in the transaction that writes the view.
    """
    key = once_key(view.id, NotificationKind.COMPENSATION_ISSUED, compensation_key)
    if await _already_told(session, key):
        return None
    [event_id] = await _record(session, view, [(COMPENSATION_EVENT, key)])
    return event_id


async def _already_told(session: AsyncSession, key: str) -> bool:
    return (
        await session.scalar(select(CustomerNotification.event_id).where(CustomerNotification.once_key == key))
        is not None
    )


_ENDPOINTS_READ = "returnflow_active_webhook_endpoints"


async def _active_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    """The active endpoints, read once per transaction: a write that announces several statuses (those a
    return passed in one step) asks once."""
    transaction = session.sync_session.get_transaction()
    read = session.info.get(_ENDPOINTS_READ)
    if read is None or read[0] is not transaction:
        query = select(WebhookEndpoint).where(WebhookEndpoint.disabled_at.is_(None))
        read = session.info[_ENDPOINTS_READ] = (transaction, list((await session.scalars(query)).all()))
    endpoints: list[WebhookEndpoint] = read[1]
    return endpoints


_EVENTS = table_of(OutboxEvent)
_DELIVERIES = table_of(WebhookDelivery)
_NOTIFICATIONS = table_of(CustomerNotification)


async def _record(session: AsyncSession, view: ReturnView, events: list[tuple[str, str | None]]) -> list[str]:
    """The events (type, and the customer's notification key when it has one) with their webhook deliveries
    and notifications; a notification key told before tells nothing again (it is unique). Plain inserts
    (``table_of``): nothing reads them back in the transaction."""
    now = datetime.now(UTC)
    payload = view.model_dump(mode="json")
    ids = ["evt_" + secrets.token_hex(16) for _ in events]
    # A microsecond apart: what reads and sends events oldest first keeps the order the return passed them.
    times = [now + timedelta(microseconds=place) for place in range(len(events))]
    rows = [
        {"id": event_id, "type": kind, "return_id": view.id, "payload": payload, "created_at": at}
        for event_id, (kind, _), at in zip(ids, events, times, strict=True)
    ]
    await session.execute(insert(_EVENTS), rows)
    endpoints = await _active_endpoints(session)
    deliveries = [
        {
            "event_id": event_id,
            "endpoint_id": endpoint.id,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "last_error": None,
            "delivered_at": None,
        }
        for event_id, (kind, _), at in zip(ids, events, times, strict=True)
        for endpoint in endpoints
        if kind in endpoint.events
    ]
    if deliveries:
        await session.execute(insert(_DELIVERIES), deliveries)
    notifications = [
        {"event_id": event_id, "state": "pending", "attempts": 0, "last_error": None, "sent_at": None, "once_key": key}
        for event_id, (_, key) in zip(ids, events, strict=True)
        if key is not None
    ]
    if notifications:
        await session.execute(
            upserting_insert(session)(_NOTIFICATIONS).on_conflict_do_nothing(index_elements=["once_key"]),
            notifications,
        )
    return ids


def _finished_before(event: type[OutboxEvent], before: datetime) -> ColumnElement[bool]:
    """An event older than ``before`` that nothing is waiting on: no webhook delivery pending (delivered or dead
    ones are over), no customer notification pending (sent or given up), and its return ended. An open return's
    events stay, because its notifications' ``once_key`` is what keeps a status from being told twice."""
    return and_(
        event.created_at < before,
        ~exists().where(WebhookDelivery.event_id == event.id, WebhookDelivery.state == "pending"),
        ~exists().where(CustomerNotification.event_id == event.id, CustomerNotification.state == "pending"),
        or_(
            event.return_id.is_(None),
            ~exists().where(
                ReturnRow.id == event.return_id,
                ReturnRow.status.not_in([status.value for status in FINAL_STATUSES]),
            ),
        ),
    )


async def prune_finished_events(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` of the oldest finished events older than ``before``, with their deliveries and
    notifications (the foreign keys cascade); returns how many. The conditions are checked by the delete itself,
    so a dead letter replayed meanwhile is not deleted."""
    candidate = aliased(OutboxEvent)
    oldest = (
        select(candidate.id)
        .where(_finished_before(candidate, before))
        .order_by(candidate.created_at)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(oldest)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
